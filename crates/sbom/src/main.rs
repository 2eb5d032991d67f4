//! `sbom BINARY`: prints the CycloneDX bill of materials of what BINARY links (built with
//! `cargo auditable`). `cargo xtask images` runs it for each image's binary.

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args_os().skip(1);
    let (Some(binary), None) = (args.next(), args.next()) else {
        anyhow::bail!("usage: sbom BINARY");
    };
    let json = sbom::cyclonedx_json(binary.as_ref())?;
    println!("{json}");
    Ok(())
}
