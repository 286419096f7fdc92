//! `tapelib-sim ctl`: the operator side of a served library.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Map, Value};

use tapelib_sim::changer::ElementType;
use tapelib_sim::client::SimControlClient;
use tapelib_sim::config::FaultSpec;
use tapelib_sim::library::LibraryContents;
use tapelib_sim::stats::LibraryStats;

#[derive(Args)]
pub struct CtlArgs {
    /// State directory of the served library (or its socket).
    #[arg(long)]
    state_dir: PathBuf,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: CtlCommand,
}

#[derive(Subcommand)]
enum CtlCommand {
    /// Put a cartridge into an import/export slot (the first free one by default).
    Insert {
        barcode: String,
        /// I/E slot, counted from 1.
        #[arg(long, conflicts_with = "address")]
        slot: Option<u16>,
        /// I/E element address.
        #[arg(long)]
        address: Option<u16>,
    },
    /// Take the cartridge out of an import/export slot.
    Remove {
        /// I/E slot, counted from 1.
        #[arg(long, required_unless_present = "address", conflicts_with = "address")]
        slot: Option<u16>,
        /// I/E element address.
        #[arg(long)]
        address: Option<u16>,
    },
    /// Inject or clear faults.
    Fault {
        #[command(subcommand)]
        command: FaultCommand,
    },
    /// Statistics per drive, per cartridge and for the robot (modeled seconds).
    Stats,
    /// Every element and what it holds.
    Contents,
    /// Export a cartridge's image in the LTFS reference file-backend layout.
    ExportImage { barcode: String, out_dir: PathBuf },
    /// Import an image (LTFS reference file-backend layout) as a new cartridge outside the
    /// library; `insert` then puts it into an I/E slot.
    ImportImage {
        dir: PathBuf,
        #[arg(long)]
        barcode: String,
        #[arg(long)]
        write_protected: bool,
        /// Capacity override in bytes.
        #[arg(long)]
        capacity: Option<u64>,
    },
}

#[derive(Subcommand)]
enum FaultCommand {
    /// Inject a fault.
    Add {
        kind: FaultKind,
        /// Cartridge (media-error, write-protect, cartridge-full).
        #[arg(long)]
        barcode: Option<String>,
        /// Drive index from 0 (drive-failure, cleaning-required).
        #[arg(long)]
        drive: Option<u16>,
        /// Partition of the block (media-error).
        #[arg(long)]
        partition: Option<u8>,
        /// Logical block (media-error).
        #[arg(long)]
        block: Option<u64>,
        /// read or write (media-error).
        #[arg(long)]
        op: Option<MediaOpArg>,
        /// Number of moves to fail (robot-move-failure; all by default).
        #[arg(long)]
        count: Option<u32>,
        /// Bytes until the cartridge is full (cartridge-full).
        #[arg(long)]
        after_bytes: Option<u64>,
        /// Device name (power-on-reset; all devices by default).
        #[arg(long)]
        device: Option<String>,
    },
    /// Clear every injected fault.
    Clear,
}

#[derive(Clone, Copy, ValueEnum)]
enum FaultKind {
    MediaError,
    DriveFailure,
    RobotMoveFailure,
    CleaningRequired,
    WriteProtect,
    CartridgeFull,
    PowerOnReset,
    IeDoorOpen,
}

#[derive(Clone, Copy, ValueEnum)]
enum MediaOpArg {
    Read,
    Write,
}

pub fn run(args: CtlArgs) -> Result<()> {
    let mut client = SimControlClient::connect(&args.state_dir).with_context(|| {
        format!(
            "connecting to the simulator in {}",
            args.state_dir.display()
        )
    })?;
    let json = args.json;
    match args.command {
        CtlCommand::Insert {
            barcode,
            slot,
            address,
        } => {
            let address = match (slot, address) {
                (Some(n), _) => Some(ie_address(&mut client, n)?),
                (None, a) => a,
            };
            let at = client
                .insert(&barcode, address)
                .with_context(|| format!("inserting {barcode}"))?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "barcode": barcode, "address": at })
                );
            } else {
                println!("inserted {barcode} into I/E element {at}");
            }
        }
        CtlCommand::Remove { slot, address } => {
            let address = match (slot, address) {
                (Some(n), _) => ie_address(&mut client, n)?,
                (None, Some(a)) => a,
                (None, None) => bail!("give --slot or --address"),
            };
            let barcode = client
                .remove(address)
                .with_context(|| format!("removing from I/E element {address}"))?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "barcode": barcode, "address": address })
                );
            } else {
                println!("removed {barcode} from I/E element {address}");
            }
        }
        CtlCommand::Fault { command } => match command {
            FaultCommand::Add {
                kind,
                barcode,
                drive,
                partition,
                block,
                op,
                count,
                after_bytes,
                device,
            } => {
                let mut m = Map::new();
                let name = kind
                    .to_possible_value()
                    .map(|v| v.get_name().to_owned())
                    .unwrap_or_default();
                m.insert("kind".into(), Value::from(name));
                let mut put = |k: &str, v: Option<Value>| {
                    if let Some(v) = v {
                        m.insert(k.into(), v);
                    }
                };
                put("barcode", barcode.map(Value::from));
                put("drive", drive.map(Value::from));
                put("partition", partition.map(Value::from));
                put("block", block.map(Value::from));
                put(
                    "op",
                    op.map(|o| {
                        Value::from(match o {
                            MediaOpArg::Read => "read",
                            MediaOpArg::Write => "write",
                        })
                    }),
                );
                put("count", count.map(Value::from));
                put("after_bytes", after_bytes.map(Value::from));
                put("device", device.map(Value::from));
                let spec: FaultSpec = serde_json::from_value(Value::Object(m))
                    .context("these options do not describe that fault")?;
                client.inject_fault(&spec)?;
                if json {
                    println!("{}", serde_json::to_string(&spec)?);
                } else {
                    println!("injected {spec:?}");
                }
            }
            FaultCommand::Clear => {
                client.clear_faults()?;
                if !json {
                    println!("faults cleared");
                }
            }
        },
        CtlCommand::Stats => {
            let stats = client.stats()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&stats)?);
            } else {
                print!("{}", stats_table(&stats));
            }
        }
        CtlCommand::Contents => {
            let contents = client.contents()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&contents)?);
            } else {
                print!("{}", contents_table(&contents));
            }
        }
        CtlCommand::ExportImage { barcode, out_dir } => {
            let out = absolute(out_dir)?;
            client.export_image(&barcode, &out)?;
            if !json {
                println!("exported {barcode} to {}", out.display());
            }
        }
        CtlCommand::ImportImage {
            dir,
            barcode,
            write_protected,
            capacity,
        } => {
            let dir = absolute(dir)?;
            client.import_image(&dir, &barcode, write_protected, capacity)?;
            if !json {
                println!("imported {barcode} from {}", dir.display());
            }
        }
    }
    Ok(())
}

/// The server resolves paths relative to its own working directory: send absolute ones.
fn absolute(p: PathBuf) -> Result<PathBuf> {
    if p.is_absolute() {
        return Ok(p);
    }
    Ok(std::env::current_dir()?.join(p))
}

/// Address of the I/E slot numbered `n` from 1, from the library's contents.
fn ie_address(client: &mut SimControlClient, n: u16) -> Result<u16> {
    let contents = client.contents()?;
    let addrs = contents
        .elements
        .iter()
        .filter(|e| e.element_type == ElementType::ImportExport)
        .map(|e| e.address)
        .collect::<Vec<_>>();
    usize::from(n)
        .checked_sub(1)
        .and_then(|i| addrs.get(i).copied())
        .with_context(|| format!("no I/E slot {n} (the library has {})", addrs.len()))
}

fn element_type_name(t: ElementType) -> &'static str {
    match t {
        ElementType::MediumTransport => "transport",
        ElementType::Storage => "storage",
        ElementType::ImportExport => "import/export",
        ElementType::DataTransfer => "drive",
    }
}

fn contents_table(c: &LibraryContents) -> String {
    let mut out = format!(
        "{:<14} {:<10} {:>7}  {:<12} {:<8} {}\n",
        "TYPE", "NAME", "ADDRESS", "BARCODE", "SOURCE", "STATE"
    );
    for e in &c.elements {
        let state = match (e.element_type, e.loaded) {
            (ElementType::DataTransfer, Some(true)) => "loaded",
            (ElementType::DataTransfer, Some(false)) => "unloaded",
            _ if e.barcode.is_some() => "full",
            _ => "empty",
        };
        out.push_str(&format!(
            "{:<14} {:<10} {:>7}  {:<12} {:<8} {}\n",
            element_type_name(e.element_type),
            e.name,
            e.address,
            e.barcode.as_deref().unwrap_or("-"),
            e.source
                .map(|s| s.to_string())
                .unwrap_or_else(|| "-".into()),
            state
        ));
    }
    out.push_str(&format!(
        "\nI/E door: {}; medium removal: {}\n",
        if c.ie_open { "open" } else { "closed" },
        if c.prevent_removal {
            "prevented"
        } else {
            "allowed"
        }
    ));
    if !c.outside.is_empty() {
        out.push_str(&format!("outside the library: {}\n", c.outside.join(" ")));
    }
    for f in &c.faults {
        out.push_str(&format!("fault: {f:?}\n"));
    }
    out
}

fn stats_table(s: &LibraryStats) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "robot: {} moves, {} failed, {} exchanges, {} inventories, {:.1} modeled s\n\n",
        s.robot.moves,
        s.robot.failed_moves,
        s.robot.exchanges,
        s.robot.inventories,
        s.robot.modeled_seconds
    ));
    out.push_str(&format!(
        "{:<10} {:>6} {:>7} {:>10} {:>14} {:>10} {:>14} {:>8} {:>8} {:>10} {:>10}\n",
        "DRIVE",
        "LOADS",
        "UNLOADS",
        "REC_WRITE",
        "BYTES_WRITE",
        "REC_READ",
        "BYTES_READ",
        "LOCATES",
        "SPACES",
        "DIST_M",
        "MODELED_S"
    ));
    for (name, d) in &s.drives {
        out.push_str(&format!(
            "{:<10} {:>6} {:>7} {:>10} {:>14} {:>10} {:>14} {:>8} {:>8} {:>10.1} {:>10.1}\n",
            name,
            d.loads,
            d.unloads,
            d.records_written,
            d.bytes_written,
            d.records_read,
            d.bytes_read,
            d.locates,
            d.spaces,
            d.distance_m,
            d.modeled_seconds.total()
        ));
    }
    out.push('\n');
    out.push_str(&format!(
        "{:<10} {:>6} {:>7} {:>10} {:>14} {:>10} {:>14} {:>8} {:>8} {:>10} {:>10}\n",
        "CARTRIDGE",
        "LOADS",
        "UNLOADS",
        "REC_WRITE",
        "BYTES_WRITE",
        "REC_READ",
        "BYTES_READ",
        "LOCATES",
        "SPACES",
        "DIST_M",
        "MODELED_S"
    ));
    for (barcode, c) in &s.cartridges {
        out.push_str(&format!(
            "{:<10} {:>6} {:>7} {:>10} {:>14} {:>10} {:>14} {:>8} {:>8} {:>10.1} {:>10.1}\n",
            barcode,
            c.loads,
            c.unloads,
            c.records_written,
            c.bytes_written,
            c.records_read,
            c.bytes_read,
            c.locates,
            c.spaces,
            c.distance_m,
            c.modeled_seconds.total()
        ));
    }
    out
}
