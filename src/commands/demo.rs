pub async fn run(_a: jobq::cli::DemoArgs, _g: &jobq::cli::GlobalArgs) -> jobq::Result<jobq::exit::ExitStatus> { todo!() }
