// Rebuild when a migration is added or edited: `embed_migrations!` reads the directories at
// compile time, and Cargo does not watch them otherwise.
fn main() {
    println!("cargo:rerun-if-changed=../migrations/control");
    println!("cargo:rerun-if-changed=../migrations/tenant");
}
