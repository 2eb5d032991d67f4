use std::sync::OnceLock;

use tokio_postgres::NoTls;

use crate::{Error, LocalPg, Result};

/// The admin URL tests create their databases on: `DATABASE_URL` when set, otherwise one
/// throwaway server per process, started on first use.
pub fn shared_admin_url() -> Result<String> {
    if let Ok(url) = std::env::var("DATABASE_URL") {
        return Ok(url);
    }
    static SHARED: OnceLock<Result<String, String>> = OnceLock::new();
    SHARED
        .get_or_init(|| {
            // The server is tied to the thread that starts it (it is signalled when that
            // thread ends), so start it on one that lives as long as the process.
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::Builder::new()
                .name("local-pg".into())
                .spawn(move || match LocalPg::ephemeral() {
                    Ok(pg) => {
                        let _ = tx.send(Ok(pg.admin_url()));
                        loop {
                            std::thread::park();
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                    }
                })
                .map_err(|e| format!("spawn the local-pg thread: {e}"))?;
            rx.recv()
                .map_err(|_| "the local-pg thread died while starting PostgreSQL".to_owned())?
        })
        .clone()
        .map_err(Error::Other)
}

/// Creates an empty database with a unique name and returns a URL for it; the server
/// must be reachable at `admin_url` as a user allowed to create databases.
pub async fn fresh_database(admin_url: &str) -> Result<String> {
    let config: tokio_postgres::Config = admin_url
        .parse()
        .map_err(|e| Error::Other(format!("the admin URL is not a PostgreSQL URL: {e}")))?;
    let (client, connection) = config.connect(NoTls).await?;
    let driver = tokio::spawn(connection);
    let name = format!("test_{}", uuid::Uuid::new_v4().simple());
    client
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .await?;
    drop(client);
    let _ = driver.await;
    Ok(with_dbname(admin_url, &name))
}

/// The same URL pointing at another database (URL form: the path; key=value form: dbname).
fn with_dbname(url: &str, dbname: &str) -> String {
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        let (before_query, query) = rest
            .split_once('?')
            .map_or((rest, None), |(a, q)| (a, Some(q)));
        let authority = before_query
            .split_once('/')
            .map_or(before_query, |(a, _)| a);
        let mut out = format!("{}{authority}/{dbname}", &url[..scheme_end + 3]);
        if let Some(q) = query {
            out.push('?');
            out.push_str(q);
        }
        out
    } else {
        format!("{url} dbname={dbname}")
    }
}

#[cfg(test)]
mod tests {
    use super::with_dbname;

    #[test]
    fn swaps_the_database_in_both_url_forms() {
        assert_eq!(
            with_dbname("postgres://u:p@h:5/postgres?sslmode=disable", "t1"),
            "postgres://u:p@h:5/t1?sslmode=disable"
        );
        assert_eq!(with_dbname("postgresql://u@h", "t1"), "postgresql://u@h/t1");
        assert_eq!(
            with_dbname("host=h user=u dbname=postgres", "t1"),
            "host=h user=u dbname=postgres dbname=t1"
        );
    }
}
