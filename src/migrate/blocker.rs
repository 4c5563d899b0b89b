//! The sessions that block a migration statement's lock, as PostgreSQL names them
//! (`pg_blocking_pids` joined with `pg_stat_activity`), and how they are shown: the first 80
//! characters of their query with every literal masked, so no value of theirs is ever logged.

use sqlx::{PgConnection, Row};

use crate::sql::tokens::{Token, join, tokenize};

/// How many characters of a blocker's query are shown.
pub const QUERY_CHARS: usize = 80;

/// One session holding (or queued before) a lock a migration statement waits for.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Blocker {
    /// Its backend pid (0: a prepared transaction, which has no session).
    pub pid: i32,
    /// Its `application_name` (app-db names its own `app-db <host> <pid>`).
    pub application_name: String,
    /// `active`, `idle in transaction`, …; `None` when not visible to this role.
    pub state: Option<String>,
    /// Seconds since its transaction started.
    pub transaction_age_secs: Option<f64>,
    /// Its current or last query: the first [`QUERY_CHARS`] characters, literals masked.
    pub query: String,
}

impl Blocker {
    /// What ends this blocker: cancelling the statement of an active session, or ending the
    /// session (and with it the transaction) of an idle one, for which a cancel does nothing.
    pub fn remedy(&self) -> String {
        match self.state.as_deref() {
            Some("active") => format!(
                "select pg_cancel_backend({pid}) (cancels its statement; select pg_terminate_backend({pid}) ends its session)",
                pid = self.pid
            ),
            _ if self.pid == 0 => {
                "a prepared transaction: COMMIT PREPARED or ROLLBACK PREPARED it (see pg_prepared_xacts)".into()
            }
            _ => format!(
                "select pg_terminate_backend({}) (ends its session and rolls its transaction back; a cancel would not end an idle transaction)",
                self.pid
            ),
        }
    }
}

impl std::fmt::Display for Blocker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.pid == 0 {
            return write!(f, "a prepared transaction");
        }
        write!(f, "backend pid {}", self.pid)?;
        if !self.application_name.is_empty() {
            write!(f, " ({})", self.application_name)?;
        }
        if let Some(state) = &self.state {
            write!(f, ", {state}")?;
        }
        if let Some(age) = self.transaction_age_secs {
            write!(f, ", transaction open for {age:.1} s")?;
        }
        if !self.query.is_empty() {
            write!(f, ", query: {}", self.query)?;
        }
        Ok(())
    }
}

/// The blockers as one line, or `unknown` when none were seen.
pub fn describe(blockers: &[Blocker]) -> String {
    if blockers.is_empty() {
        return "unknown (no blocking session was seen while the statement waited)".into();
    }
    blockers
        .iter()
        .map(Blocker::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Who blocks backend `pid` now (empty when it waits for nothing). The simple query protocol
/// with the pid written into the text: one message, so it answers right through a pooler in
/// transaction mode.
pub async fn read(conn: &mut PgConnection, pid: i32) -> Result<Vec<Blocker>, sqlx::Error> {
    let sql = format!(
        "select b.pid, coalesce(a.application_name, '') as application_name, a.state, \
         extract(epoch from (now() - a.xact_start))::float8 as age, \
         coalesce(left(a.query, 4000), '') as query \
         from unnest(pg_blocking_pids({pid})) with ordinality b(pid, n) \
         left join pg_stat_activity a on a.pid = b.pid \
         order by b.n"
    );
    let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .fetch_all(&mut *conn)
        .await?;
    let mut blockers: Vec<Blocker> = Vec::with_capacity(rows.len());
    for row in rows {
        let pid: i32 = row.try_get("pid")?;
        // A session holding several conflicting locks is listed once.
        if blockers.iter().any(|b| b.pid == pid && pid != 0) {
            continue;
        }
        blockers.push(Blocker {
            pid,
            application_name: row.try_get("application_name")?,
            state: row.try_get("state")?,
            transaction_age_secs: row.try_get("age")?,
            query: masked_query(&row.try_get::<String, _>("query")?),
        });
    }
    Ok(blockers)
}

/// `query` on one line, its literals masked, cut to [`QUERY_CHARS`] characters.
///
/// Masked: string constants (`'…'`, `E'…'`, `U&'…'`, `B'…'`, `X'…'`, dollar-quoted bodies) become
/// `'?'`, numbers become `?`. Identifiers (`"…"`, names with digits) and keywords stay, so the
/// statement stays recognisable while no value it carries is shown. Comments are dropped (they
/// can hold anything).
pub fn masked_query(query: &str) -> String {
    let masked: Vec<Token> = tokenize(query)
        .into_iter()
        .map(|token| match token {
            Token::Str(_) => Token::Str("'?'".into()),
            Token::Number(_) => Token::Number("?".into()),
            other => other,
        })
        .collect();
    let refs: Vec<&Token> = masked.iter().collect();
    let text = join(&refs);
    if text.chars().count() > QUERY_CHARS {
        let cut: String = text.chars().take(QUERY_CHARS - 1).collect();
        format!("{}…", cut.trim_end())
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_masked_and_identifiers_kept() {
        let table = [
            ("select * from organization", "select * from organization"),
            (
                "select * from \"user\" where email = 'bob@example.com' and age > 42",
                "select * from \"user\" where email = '?' and age > ?",
            ),
            (
                "update t set s = 'it''s', n = 1.5e-3, m = .5 where id = $1",
                "update t set s = '?', n = ?, m = ? where id = $1",
            ),
            (
                "select E'a\\'b', U&'d\\0061', x'ff', b'101', N'nat' from t2",
                "select '?', '?', '?', '?', '?' from t2",
            ),
            (
                "do $$ begin perform 'secret'; end $$; select $tag$x$tag$",
                "do '?'; select '?'",
            ),
            (
                "select  a1,\n\t b_2  -- a comment 'with' 123\nfrom /* note 'x' */ t",
                "select a1, b_2 from t",
            ),
            (
                "alter role app password 'hunter2'",
                "alter role app password '?'",
            ),
            (
                "select \"weird\"\"name 1\" from t",
                "select \"weird\"\"name 1\" from t",
            ),
            ("select 'unterminated", "select '?'"),
            ("", ""),
        ];
        for (query, expected) in table {
            assert_eq!(masked_query(query), expected, "{query}");
        }
    }

    #[test]
    fn long_queries_are_cut_at_eighty_characters() {
        let long = format!("select {} from t", "column_name, ".repeat(20));
        let masked = masked_query(&long);
        assert_eq!(masked.chars().count(), QUERY_CHARS);
        assert!(masked.ends_with('…') && masked.starts_with("select column_name,"));
        let wide = "select 'é' as é, ".repeat(20);
        assert!(masked_query(&wide).chars().count() <= QUERY_CHARS);
    }

    #[test]
    fn a_blocker_is_shown_with_its_remedy() {
        let idle = Blocker {
            pid: 4242,
            application_name: "psql".into(),
            state: Some("idle in transaction".into()),
            transaction_age_secs: Some(45.25),
            query: "select count(*) from organization".into(),
        };
        assert_eq!(
            idle.to_string(),
            "backend pid 4242 (psql), idle in transaction, transaction open for 45.2 s, query: select count(*) from organization"
        );
        assert!(
            idle.remedy()
                .starts_with("select pg_terminate_backend(4242)")
        );
        let active = Blocker {
            state: Some("active".into()),
            application_name: String::new(),
            transaction_age_secs: None,
            ..idle.clone()
        };
        assert!(
            active
                .to_string()
                .starts_with("backend pid 4242, active, query:")
        );
        assert!(
            active
                .remedy()
                .starts_with("select pg_cancel_backend(4242)")
        );
        let prepared = Blocker {
            pid: 0,
            state: None,
            ..idle
        };
        assert_eq!(prepared.to_string(), "a prepared transaction");
        assert!(prepared.remedy().contains("ROLLBACK PREPARED"));
        assert!(describe(&[]).starts_with("unknown"));
    }
}
