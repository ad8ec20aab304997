using Autograd.Api.Benchmarks;
using BenchmarkDotNet.Running;

// Server time of the HTTP endpoints, in process (no sockets):
//   dotnet run -c Release --project bench/Api.Benchmarks -- --filter '*' --job short --inProcess
// Where a never-seen formula's time goes, stage by stage:
//   dotnet run -c Release --project bench/Api.Benchmarks -- --cold-stages
if (args is ["--cold-stages"]) ColdStages.Run();
else BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
