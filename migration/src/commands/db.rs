//! `db start|stop|status|url`: the embedded development server.

use app_db::Error;
use app_db::embedded::DevServer;

use crate::cli::DbAction;
use crate::exit;

pub async fn run(action: &DbAction) -> Result<u8, Error> {
    let server = DevServer::locate()?;
    match action {
        DbAction::Start => {
            let status = server.ensure_running().await?;
            if status.started {
                eprintln!(
                    "started the development server ({})",
                    server.root().display()
                );
            } else {
                eprintln!("the development server was already running");
            }
            println!("{}", DevServer::url(status.port));
        }
        DbAction::Url => {
            let status = server.ensure_running().await?;
            println!("{}", DevServer::url(status.port));
        }
        DbAction::Stop => {
            if server.stop()? {
                eprintln!("stopped the development server");
            } else {
                eprintln!("the development server was not running");
            }
        }
        DbAction::Status => match server.running_port() {
            Some(port) => {
                println!("running: {}", DevServer::url(port));
                println!("folder:  {}", server.root().display());
                println!("log:     {}", server.log_path().display());
            }
            None => {
                println!("stopped (folder: {})", server.root().display());
            }
        },
    }
    Ok(exit::OK)
}
