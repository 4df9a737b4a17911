//! A stand-in `meguri serve` that runs the whole transport around a service knowing only
//! `ListNodes` and `SetLogLevel` (every other call answers `UNIMPLEMENTED`), until the
//! frontier service exists. It shows the start-up sequence the real command keeps, and
//! lets the end-to-end tests drive the real binary (signals, exit status, addresses).

use super::pb::url_frontier_server::UrlFrontier;
use super::pb::{Empty, LogLevelParams, StringList};
use super::{LogControl, Metrics, Transport, TransportArgs, TransportConfig};
use crate::{CmdError, CmdResult};
use std::io::Write;
use tonic::{Request, Response, Status};

struct NodeOnly {
    node: String,
    log: LogControl,
}

#[tonic::async_trait]
impl UrlFrontier for NodeOnly {
    async fn list_nodes(&self, _: Request<Empty>) -> Result<Response<StringList>, Status> {
        Ok(Response::new(StringList {
            values: vec![self.node.clone()],
        }))
    }

    async fn set_log_level(&self, req: Request<LogLevelParams>) -> Result<Response<Empty>, Status> {
        self.log.apply(req.get_ref())?;
        Ok(Response::new(Empty {}))
    }
}

/// Runs the transport with the stand-in service until SIGINT or SIGTERM. Prints where it
/// listens on `out` (one line, with the real ports when port 0 was asked for).
pub fn run(args: &TransportArgs, out: &mut dyn Write) -> CmdResult {
    let config =
        TransportConfig::from_args(args).map_err(|e| CmdError::new(format!("serve: {e}")))?;
    let log =
        LogControl::init(&args.log).map_err(|e| CmdError::new(format!("serve: --log: {e}")))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("meguri-serve")
        .build()
        .map_err(|e| CmdError::new(format!("serve: cannot start the runtime: {e}")))?;
    rt.block_on(async {
        let transport = Transport::bind(config, Metrics::new())
            .await
            .map_err(|e| CmdError::new(format!("serve: {e}")))?;
        let (grpc, metrics) = (transport.grpc_addr(), transport.metrics_addr());
        writeln!(
            out,
            "meguri serve: gRPC on {grpc}, metrics on http://{metrics}/metrics"
        )
        .and_then(|_| out.flush())
        .map_err(|e| CmdError::new(format!("serve: {e}")))?;
        let service = NodeOnly {
            node: grpc.to_string(),
            log,
        };
        transport
            .serve(service, super::stop_signal(), async {})
            .await
            .map_err(|e| CmdError::new(format!("serve: {e}")))?;
        Ok(())
    })
}
