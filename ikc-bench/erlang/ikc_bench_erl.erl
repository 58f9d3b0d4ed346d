%% ikc-bench's Erlang reference: the same payload as every ikc-bench
%% message, #{seq => I, name => <<"hello world">>, vals => [1,2,3]},
%% sent between two Erlang nodes over the distribution on 127.0.0.1.
%%
%% server(): registers `sink' and counts posts (checking seq runs 0, 1,
%%   2, ...), answers acks, pings and `done'.
%% client([ServerNode, N, Batch, Window, Calls, Warmup]): one-way posts in
%%   batches of Batch, with at most Window unanswered acks (as ikc-bench
%%   oneway does), then Calls sequential ping-pongs; prints one line each:
%%     oneway n=N nanos=T count=C misordered=M
%%     pingpong n=Calls samples_ns=S1,S2,...
-module(ikc_bench_erl).
-export([server/0, client/1]).

payload(I) -> #{seq => I, name => <<"hello world">>, vals => [1, 2, 3]}.

server() ->
    register(sink, self()),
    io:format("ready~n"),
    serve(0, 0, 0).

serve(Count, Next, Mis) ->
    receive
        {post, #{seq := Seq}} ->
            Mis1 = case Seq of Next -> Mis; _ -> Mis + 1 end,
            serve(Count + 1, Seq + 1, Mis1);
        {ack, From} ->
            From ! {acked, Count},
            serve(Count, Next, Mis);
        {echo, From, Payload} ->
            From ! {echoed, Payload},
            serve(Count, Next, Mis);
        {done, From} ->
            From ! {count, Count, Mis},
            serve(0, 0, 0);
        quit ->
            erlang:halt(0)
    end.

client([NodeS, NS, BatchS, WindowS, CallsS, WarmupS]) ->
    Node = list_to_atom(NodeS),
    [N, Batch, Window, Calls, Warmup] =
        [list_to_integer(S) || S <- [NS, BatchS, WindowS, CallsS, WarmupS]],
    pong = wait_for(Node, 100),
    Sink = {sink, Node},
    T0 = erlang:monotonic_time(nanosecond),
    posts(Sink, 0, N, Batch, Window, 0),
    Sink ! {done, self()},
    {Count, Mis} = receive {count, C, M} -> {C, M} end,
    T1 = erlang:monotonic_time(nanosecond),
    io:format("oneway n=~b nanos=~b count=~b misordered=~b~n", [N, T1 - T0, Count, Mis]),
    _ = [echo(Sink, I) || I <- lists:seq(1, Warmup)],
    Samples = [echo(Sink, I) || I <- lists:seq(1, Calls)],
    io:format("pingpong n=~b samples_ns=~s~n",
              [Calls, lists:join(",", [integer_to_list(S) || S <- Samples])]),
    Sink ! quit,
    erlang:halt(0).

wait_for(_Node, 0) -> pang;
wait_for(Node, Tries) ->
    case net_adm:ping(Node) of
        pong -> pong;
        pang -> timer:sleep(50), wait_for(Node, Tries - 1)
    end.

posts(_Sink, Sent, N, _Batch, _Window, Out) when Sent >= N ->
    acks(Out);
posts(Sink, Sent, N, Batch, Window, Out) when Out >= Window ->
    receive {acked, _} -> posts(Sink, Sent, N, Batch, Window, Out - 1) end;
posts(Sink, Sent, N, Batch, Window, Out) ->
    End = min(Sent + Batch, N),
    batch(Sink, Sent, End),
    Sink ! {ack, self()},
    posts(Sink, End, N, Batch, Window, Out + 1).

batch(_Sink, End, End) -> ok;
batch(Sink, I, End) ->
    Sink ! {post, payload(I)},
    batch(Sink, I + 1, End).

acks(0) -> ok;
acks(Out) -> receive {acked, _} -> acks(Out - 1) end.

echo(Sink, I) ->
    P = payload(I),
    T0 = erlang:monotonic_time(nanosecond),
    Sink ! {echo, self(), P},
    receive {echoed, _} -> ok end,
    erlang:monotonic_time(nanosecond) - T0.
