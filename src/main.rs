//! The `bitalign` command: flags, progress bars and summaries around the library.

mod cli;

fn main() {
    std::process::exit(cli::main());
}
