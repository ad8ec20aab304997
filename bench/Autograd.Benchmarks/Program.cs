using BenchmarkDotNet.Running;

// Run everything: dotnet run -c Release --project bench/Autograd.Benchmarks -- --filter '*'
// One workload:   dotnet run -c Release --project bench/Autograd.Benchmarks -- --filter '*Paraboloid*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
