using BenchmarkDotNet.Running;

// Server time of the HTTP endpoints, in process (no sockets):
//   dotnet run -c Release --project bench/Api.Benchmarks -- --filter '*' --job short --inProcess
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
