//! modbus-peer: a real Modbus/TCP server and a scripted client, both tokio-modbus 0.17.
//!
//! ```text
//! modbus-peer server --listen 127.0.0.1:5502
//! modbus-peer client --connect 127.0.0.1:5502
//! ```
//!
//! The server holds 100 coils, 100 discrete inputs, 100 holding registers and 100 input
//! registers (addresses 0-99) and answers exception 2 (illegal data address) for anything
//! outside them, exception 1 (illegal function) for other function codes. Initial contents:
//! holding register `i` = 1000 + i, input register `i` = 2000 + i, coil `i` = (i % 3 == 0),
//! discrete input `i` = (i % 2 == 0).
//!
//! The client runs a fixed script (unit 1, one TCP connection, one request at a time) with a
//! distinct address and quantity per step, checks every answer and exits 1 on a mismatch:
//!
//! | # | function | request | answer |
//! |---|---|---|---|
//! | 1 | 3 read holding registers | addr 10, qty 4 | 1010 1011 1012 1013 |
//! | 2 | 4 read input registers | addr 20, qty 3 | 2020 2021 2022 |
//! | 3 | 1 read coils | addr 30, qty 10 | bytes 0x49 0x02 (30, 33, 36, 39 on) |
//! | 4 | 2 read discrete inputs | addr 40, qty 5 | byte 0x15 (40, 42, 44 on) |
//! | 5 | 6 write single register | addr 50, value 0xBEEF | echo |
//! | 6 | 16 write multiple registers | addr 60, values 111 222 333 | addr 60, qty 3 |
//! | 7 | 5 write single coil | addr 70, on (0xFF00) | echo |
//! | 8 | 15 write multiple coils | addr 80, 9 coils 1,0,1,1,0,0,1,0,1 | addr 80, qty 9 |
//! | 9 | 3 read holding registers | addr 500, qty 2 | exception 2 |
//!
//! tests/live_modbus.rs in the root package checks edgetap's view of exactly this script.

use std::future;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use tokio_modbus::prelude::*;
use tokio_modbus::server::tcp::{accept_tcp_connection, Server};

const SIZE: usize = 100;

struct Tables {
    coils: Vec<bool>,
    discrete: Vec<bool>,
    holding: Vec<u16>,
    input: Vec<u16>,
}

impl Tables {
    fn new() -> Self {
        Tables {
            coils: (0..SIZE).map(|i| i % 3 == 0).collect(),
            discrete: (0..SIZE).map(|i| i % 2 == 0).collect(),
            holding: (0..SIZE).map(|i| 1000 + i as u16).collect(),
            input: (0..SIZE).map(|i| 2000 + i as u16).collect(),
        }
    }
}

/// The address range `addr .. addr + qty` when it is inside the tables and not empty.
fn range(addr: u16, qty: usize) -> Result<std::ops::Range<usize>, ExceptionCode> {
    let a = usize::from(addr);
    if qty == 0 {
        return Err(ExceptionCode::IllegalDataValue);
    }
    if a + qty > SIZE {
        return Err(ExceptionCode::IllegalDataAddress);
    }
    Ok(a..a + qty)
}

#[derive(Clone)]
struct Peer(Arc<Mutex<Tables>>);

impl Peer {
    fn handle(&self, req: Request<'static>) -> Result<Response, ExceptionCode> {
        let mut t = self
            .0
            .lock()
            .map_err(|_| ExceptionCode::ServerDeviceFailure)?;
        Ok(match req {
            Request::ReadCoils(a, n) => Response::ReadCoils(t.coils[range(a, n.into())?].to_vec()),
            Request::ReadDiscreteInputs(a, n) => {
                Response::ReadDiscreteInputs(t.discrete[range(a, n.into())?].to_vec())
            }
            Request::ReadHoldingRegisters(a, n) => {
                Response::ReadHoldingRegisters(t.holding[range(a, n.into())?].to_vec())
            }
            Request::ReadInputRegisters(a, n) => {
                Response::ReadInputRegisters(t.input[range(a, n.into())?].to_vec())
            }
            Request::WriteSingleCoil(a, v) => {
                let r = range(a, 1)?;
                t.coils[r].fill(v);
                Response::WriteSingleCoil(a, v)
            }
            Request::WriteSingleRegister(a, v) => {
                let r = range(a, 1)?;
                t.holding[r].fill(v);
                Response::WriteSingleRegister(a, v)
            }
            Request::WriteMultipleCoils(a, vs) => {
                let r = range(a, vs.len())?;
                t.coils[r].copy_from_slice(&vs);
                Response::WriteMultipleCoils(a, vs.len() as u16)
            }
            Request::WriteMultipleRegisters(a, vs) => {
                let r = range(a, vs.len())?;
                t.holding[r].copy_from_slice(&vs);
                Response::WriteMultipleRegisters(a, vs.len() as u16)
            }
            _ => return Err(ExceptionCode::IllegalFunction),
        })
    }
}

impl tokio_modbus::server::Service for Peer {
    type Request = Request<'static>;
    type Response = Response;
    type Exception = ExceptionCode;
    type Future = future::Ready<Result<Response, ExceptionCode>>;

    fn call(&self, req: Request<'static>) -> Self::Future {
        future::ready(self.handle(req))
    }
}

async fn server(addr: SocketAddr) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("bind {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    eprintln!("modbus-peer: server listening on {local}");
    let peer = Peer(Arc::new(Mutex::new(Tables::new())));
    let server = Server::new(listener);
    let on_connected = |stream, socket_addr| {
        let peer = peer.clone();
        async move { accept_tcp_connection(stream, socket_addr, move |_| Ok(Some(peer.clone()))) }
    };
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| e.to_string())?;
    tokio::select! {
        r = server.serve(&on_connected, |e| eprintln!("modbus-peer: connection error: {e}")) => r.map_err(|e| e.to_string()),
        _ = tokio::signal::ctrl_c() => Ok(()),
        _ = term.recv() => Ok(()),
    }
}

fn check<T: PartialEq + std::fmt::Debug>(step: &str, got: T, want: T) -> Result<(), String> {
    if got == want {
        eprintln!("modbus-peer: {step}: {got:?}");
        Ok(())
    } else {
        Err(format!("{step}: got {got:?}, want {want:?}"))
    }
}

async fn client(addr: SocketAddr) -> Result<(), String> {
    let e = |step: &'static str| move |err: tokio_modbus::Error| format!("{step}: {err}");
    let mut ctx = tcp::connect_slave(addr, Slave(1))
        .await
        .map_err(|err| format!("connect {addr}: {err}"))?;

    let s = "1 read_holding_registers(10, 4)";
    check(
        s,
        ctx.read_holding_registers(10, 4).await.map_err(e(s))?,
        Ok(vec![1010, 1011, 1012, 1013]),
    )?;
    let s = "2 read_input_registers(20, 3)";
    check(
        s,
        ctx.read_input_registers(20, 3).await.map_err(e(s))?,
        Ok(vec![2020, 2021, 2022]),
    )?;
    let s = "3 read_coils(30, 10)";
    let want: Vec<bool> = (30..40).map(|i| i % 3 == 0).collect();
    check(s, ctx.read_coils(30, 10).await.map_err(e(s))?, Ok(want))?;
    let s = "4 read_discrete_inputs(40, 5)";
    check(
        s,
        ctx.read_discrete_inputs(40, 5).await.map_err(e(s))?,
        Ok(vec![true, false, true, false, true]),
    )?;
    let s = "5 write_single_register(50, 0xBEEF)";
    check(
        s,
        ctx.write_single_register(50, 0xBEEF).await.map_err(e(s))?,
        Ok(()),
    )?;
    let s = "6 write_multiple_registers(60, [111, 222, 333])";
    check(
        s,
        ctx.write_multiple_registers(60, &[111, 222, 333])
            .await
            .map_err(e(s))?,
        Ok(()),
    )?;
    let s = "7 write_single_coil(70, on)";
    check(
        s,
        ctx.write_single_coil(70, true).await.map_err(e(s))?,
        Ok(()),
    )?;
    let s = "8 write_multiple_coils(80, 9 coils)";
    let coils = [true, false, true, true, false, false, true, false, true];
    check(
        s,
        ctx.write_multiple_coils(80, &coils).await.map_err(e(s))?,
        Ok(()),
    )?;
    let s = "9 read_holding_registers(500, 2)";
    check(
        s,
        ctx.read_holding_registers(500, 2).await.map_err(e(s))?,
        Err(ExceptionCode::IllegalDataAddress),
    )?;

    ctx.disconnect()
        .await
        .map_err(|err| format!("disconnect: {err}"))?;
    Ok(())
}

const USAGE: &str = "usage: modbus-peer server --listen ADDR | modbus-peer client --connect ADDR";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cmd, flag, want_flag) = match args.as_slice() {
        [cmd, flag, addr] if cmd == "server" => (0, (flag.as_str(), addr.as_str()), "--listen"),
        [cmd, flag, addr] if cmd == "client" => (1, (flag.as_str(), addr.as_str()), "--connect"),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    if flag.0 != want_flag {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    let addr: SocketAddr = match flag.1.parse() {
        Ok(a) => a,
        Err(err) => {
            eprintln!("modbus-peer: bad address {:?}: {err}", flag.1);
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("modbus-peer: tokio runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let res = rt.block_on(async {
        if cmd == 0 {
            server(addr).await
        } else {
            client(addr).await
        }
    });
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("modbus-peer: {msg}");
            ExitCode::FAILURE
        }
    }
}
