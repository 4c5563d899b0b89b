//! [`Read`]: a read-only transaction on the server the router chose.

use std::future::Future;
use std::pin::Pin;

use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, ExecResult, IsolationLevel,
    QueryResult, Statement, TransactionError, TransactionOptions, TransactionTrait,
};

/// Which server a [`Read`] runs on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Served {
    /// The primary (`DATABASE_URL`): no replica configured, or none usable.
    Primary,
    /// A read replica.
    Replica {
        /// Its position in `DATABASE_READ_URL`.
        index: usize,
        /// Its URL, password removed.
        url: String,
    },
}

/// A read-only transaction (`BEGIN READ ONLY`) on a replica or, when none may serve, on the
/// primary. Run SeaORM queries on it like on any connection; it commits with
/// [`Read::commit`] and rolls back when dropped (harmless: it cannot have written anything).
///
/// Being a transaction, every query of one `Read` sees one snapshot of one server, and a write
/// fails the same way on the primary as on a replica (`25006: cannot execute … in a
/// read-only transaction`), so code that works on one works on the other.
pub struct Read {
    txn: DatabaseTransaction,
    served: Served,
}

impl Read {
    pub(crate) fn new(txn: DatabaseTransaction, served: Served) -> Self {
        Self { txn, served }
    }

    /// Where this read runs.
    pub fn served(&self) -> &Served {
        &self.served
    }

    /// Whether a replica serves this read.
    pub fn on_replica(&self) -> bool {
        matches!(self.served, Served::Replica { .. })
    }

    /// Ends the transaction.
    pub async fn commit(self) -> Result<(), crate::Error> {
        Ok(self.txn.commit().await?)
    }

    /// The transaction itself.
    pub fn into_transaction(self) -> DatabaseTransaction {
        self.txn
    }
}

impl std::ops::Deref for Read {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

impl std::fmt::Debug for Read {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Read")
            .field("served", &self.served)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Read {
    fn get_database_backend(&self) -> DbBackend {
        self.txn.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.txn.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.txn.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.txn.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.txn.query_all_raw(stmt).await
    }
}

/// Nested transactions are savepoints of the read's transaction (still read-only).
#[async_trait::async_trait]
impl TransactionTrait for Read {
    type Transaction = DatabaseTransaction;

    async fn begin(&self) -> Result<DatabaseTransaction, DbErr> {
        self.txn.begin().await
    }

    async fn begin_with_config(
        &self,
        isolation_level: Option<IsolationLevel>,
        access_mode: Option<AccessMode>,
    ) -> Result<DatabaseTransaction, DbErr> {
        self.txn
            .begin_with_config(isolation_level, access_mode)
            .await
    }

    async fn begin_with_options(
        &self,
        options: TransactionOptions,
    ) -> Result<DatabaseTransaction, DbErr> {
        self.txn.begin_with_options(options).await
    }

    async fn transaction<F, T, E>(&self, callback: F) -> Result<T, TransactionError<E>>
    where
        F: for<'c> FnOnce(
                &'c DatabaseTransaction,
            ) -> Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'c>>
            + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        self.txn.transaction(callback).await
    }

    async fn transaction_with_config<F, T, E>(
        &self,
        callback: F,
        isolation_level: Option<IsolationLevel>,
        access_mode: Option<AccessMode>,
    ) -> Result<T, TransactionError<E>>
    where
        F: for<'c> FnOnce(
                &'c DatabaseTransaction,
            ) -> Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'c>>
            + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        self.txn
            .transaction_with_config(callback, isolation_level, access_mode)
            .await
    }
}
