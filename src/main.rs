fn main() {
    std::process::exit(bitalign::cli::main());
}
