//! The `meguri` command: everything is in the library's [`meguri::cli`].

fn main() -> std::process::ExitCode {
    meguri::cli::main()
}
