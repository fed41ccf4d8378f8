//! Demo content for `parley serve --demo`.

use parley_store::Store;

pub async fn seed(_store: &dyn Store) -> anyhow::Result<String> {
    Ok("demo content: not loaded".into())
}
