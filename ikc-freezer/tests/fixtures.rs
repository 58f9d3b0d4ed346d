//! The fixture corpus captured from Perl (Storable 3.26, Data::Dumper
//! 2.184, perl 5.36): every codec must read what Perl wrote, and what we
//! write must read back as what Perl reads back.

mod util;

use anyhow::{Result, ensure};
use ikc_freezer::{Dumper, Freezer, Storable};

#[test]
fn storable_reads_what_perl_wrote() -> Result<()> {
    let fixtures = util::fixtures()?;
    ensure!(fixtures.len() >= 20, "corpus too small: {}", fixtures.len());
    for f in &fixtures {
        let got = Storable::new().thaw(&f.storable)?;
        ensure!(
            got == f.storable_thawed,
            "{}: got {got:?}, want {:?}",
            f.name,
            f.storable_thawed
        );
    }
    Ok(())
}

#[test]
fn storable_writes_what_perl_reads_back() -> Result<()> {
    let mut byte_equal = 0;
    for f in util::fixtures()? {
        let mut ours = Vec::new();
        Storable::new().freeze(&f.original, &mut ours)?;
        let back = Storable::new().thaw(&ours)?;
        ensure!(
            back == f.storable_thawed,
            "{}: got {back:?}, want {:?}",
            f.name,
            f.storable_thawed
        );
        if !util::has_unordered_hash(&f.original) {
            ensure!(
                ours == f.storable,
                "{}: our bytes {ours:02x?} differ from Perl's {:02x?}",
                f.name,
                f.storable
            );
            byte_equal += 1;
        }
    }
    ensure!(
        byte_equal >= 12,
        "only {byte_equal} fixtures compared byte for byte"
    );
    Ok(())
}

#[test]
fn dumper_reads_what_perl_wrote() -> Result<()> {
    for f in util::fixtures()? {
        let got = Dumper::new().thaw(&f.dumper)?;
        ensure!(
            got == f.dumper_thawed,
            "{}: got {got:?}, want {:?}",
            f.name,
            f.dumper_thawed
        );
    }
    Ok(())
}

#[test]
fn dumper_writes_what_perl_reads_back() -> Result<()> {
    let mut byte_equal = 0;
    for f in util::fixtures()? {
        let mut ours = Vec::new();
        Dumper::new().freeze(&f.original, &mut ours)?;
        let back = Dumper::new().thaw(&ours)?;
        ensure!(
            back == f.dumper_thawed,
            "{}: got {back:?}, want {:?}",
            f.name,
            f.dumper_thawed
        );
        // Perl writes shared references once plus a fix-up; we write copies.
        if !util::has_unordered_hash(&f.original) && f.name != "shared_ref" {
            ensure!(
                ours == f.dumper,
                "{}: ours {:?} differs from Perl's {:?}",
                f.name,
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&f.dumper)
            );
            byte_equal += 1;
        }
    }
    ensure!(
        byte_equal >= 12,
        "only {byte_equal} fixtures compared byte for byte"
    );
    Ok(())
}
