//! Packages `app.wasm` as an OCI image tar in `OUT_DIR`: the whole build script.
use wasm_artifact::{FileInput, ImageShape::WasmLayers, Timestamp, WasmImage};
fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=app.wasm\ncargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let mut image = WasmImage::new(
        "app:v1".parse()?,
        WasmLayers,
        Timestamp::source_date_epoch()?,
    );
    image.add_wasm(FileInput::open("app.wasm")?)?;
    image.write_tar_file(std::path::Path::new(&std::env::var("OUT_DIR")?).join("app.tar"))?;
    Ok(())
}
