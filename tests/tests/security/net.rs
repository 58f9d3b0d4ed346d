//! Over sockets, between kernels: see below.
