using Autograd.Api.Benchmarks;
using BenchmarkDotNet.Running;

// Server time of the HTTP endpoints, in process (no sockets):
//   dotnet run -c Release --project bench/Api.Benchmarks -- --filter '*' --job short --inProcess
// Where a never-seen formula's time goes, stage by stage:
//   dotnet run -c Release --project bench/Api.Benchmarks -- --cold-stages
// Where a repeated /gradient request's time goes beyond a health check, stage by stage:
//   dotnet run -c Release --project bench/Api.Benchmarks -- --warm-stages
if (args is ["--cold-stages"]) ColdStages.Run();
else if (args is ["--warm-stages", ..]) WarmStages.Run(loopStage: args.Length > 1 ? args[1] : null);
else BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
