using Autograd.Expressions;
using Autograd.Optimization;

namespace Autograd.Tests.Optimization;

/// <summary>
/// A run gives the same bits whatever ran before it in the process or runs beside it: first from a new formula
/// cache, again on a pooled copy after other runs of the same formula, with the scalar replay compiled beforehand,
/// and several at once beside other runs. Each case crosses a point where the engine changes paths: a tape of
/// scalars is compiled after 2048 replays (in the background), a fused replay compiles its loop over rows after 4M
/// rows, 2^17 rows and more are split over two threads, and mini-batches rent a pooled formula of batch length.
/// </summary>
public class RerunTests
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var problem in new[] { "scalars", "rows", "split rows", "mini-batches" })
            foreach (var optimizer in new[] { "sgd", "adam", "lbfgs", "newton" })
                data.Add(problem, optimizer);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task A_rerun_gives_the_same_bits_cold_warm_and_beside_other_runs(string problem, string optimizer)
    {
        var job = new RerunJob(problem, optimizer);
        var cache = new FormulaCache();
        var cold = job.Run(cache);

        // Another run of the same formula from elsewhere leaves its copy in the pool, its scalar replay compiled.
        job.Run(cache, shift: 0.25);
        Assert.Equal(cold, job.Run(cache));
        if (problem == "scalars") Assert.Equal(cold, job.Run(cache, compileFirst: true));

        var beside = await Task.WhenAll(Task.Run(() => job.Run(cache)), Task.Run(() => job.Run(cache, shift: 0.5)), Task.Run(() => job.Run(cache)));
        Assert.Equal(cold, beside[0]);
        Assert.Equal(cold, beside[2]);
    }

    /// <summary>
    /// One minimisation as a service job runs it: a formula rented from a cache with its inputs set, an objective over
    /// all rows or mini-batches, a new optimizer; its trace is every iteration's loss, gradient norm and point, then the
    /// result, as bits.
    /// </summary>
    sealed class RerunJob(string problem, string optimizer)
    {
        const string Rosenbrock = "(a - x[1])^2 + b*(x[2] - x[1]^2)^2";
        const string Line = "mean((y - (b0 + b1*x))^2)";
        const int BatchSize = 4096;

        readonly (double[] X, double[] Y) _data = problem == "scalars" ? ([], []) : FittingTests.LabData(problem switch
        {
            "rows" => 5000, "split rows" => 140_000, _ => 20_000,
        }, seed: 9);

        int Rows => _data.X.Length;

        // sgd runs long enough to cross each problem's switch of path: 2048 scalar replays; 4M rows of 5000 (839
        // replays), of 140,000 (30) or of batches of 4096 (1024). The others run until they stop, or briefly.
        int MaxIterations => (problem, optimizer) switch
        {
            ("scalars", "sgd" or "adam") => 2500,
            ("rows", "sgd") => 900,
            ("mini-batches", "sgd") => 1100,
            ("split rows", "sgd") => 35,
            ("split rows", "newton") => 2,
            ("split rows", _) => 4,
            ("mini-batches", _) => 10,
            _ => 200,
        };

        OptimizerSettings Settings => optimizer switch
        {
            "sgd" => new(OptimizerKind.Sgd, problem == "scalars" ? 0.01 : 0.1),
            "adam" => new(OptimizerKind.Adam, 0.01),
            "lbfgs" => new(OptimizerKind.Lbfgs),
            _ => new(OptimizerKind.Newton),
        };

        public List<long> Run(FormulaCache cache, double shift = 0, bool compileFirst = false)
        {
            var scalars = problem == "scalars";
            var batch = problem == "mini-batches" ? BatchSize : Rows;
            InputSpec[] specs = scalars
                ? [InputSpec.Vector("x", InputKind.Parameter, 2), InputSpec.Scalar("a", InputKind.Constant), InputSpec.Scalar("b", InputKind.Constant)]
                : [InputSpec.Scalar("b0", InputKind.Parameter), InputSpec.Scalar("b1", InputKind.Parameter),
                    InputSpec.Vector("x", InputKind.Data, batch), InputSpec.Vector("y", InputKind.Data, batch)];
            var compiled = cache.Rent<double>(scalars ? Rosenbrock : Line, specs, FormulaLimits.Default);
            try
            {
                double[] start = scalars ? [-1 + shift, 1] : [shift, 0];
                IObjective<double> objective;
                if (scalars)
                {
                    compiled.SetInput(0, start);
                    compiled.SetInput(1, [1.0]);
                    compiled.SetInput(2, [5.0]);
                    objective = new FormulaObjective<double>(compiled);
                    if (compileFirst) Assert.True(compiled.CompileScalarReplay());
                }
                else
                {
                    compiled.SetInput(0, [start[0]]);
                    compiled.SetInput(1, [start[1]]);
                    if (problem == "mini-batches")
                    {
                        objective = new MiniBatchObjective<double>(compiled, [(2, _data.X), (3, _data.Y)], BatchSize, shuffle: true, seed: 5);
                    }
                    else
                    {
                        compiled.SetInput(2, _data.X);
                        compiled.SetInput(3, _data.Y);
                        objective = new FormulaObjective<double>(compiled);
                    }
                }
                var trace = new List<long>();
                var outcome = Minimizer.Run(objective, start, Settings.Create<double>(2), new StoppingRules(MaxIterations),
                    (in IterationState<double> s) =>
                    {
                        trace.Add(BitConverter.DoubleToInt64Bits(s.Value));
                        trace.Add(BitConverter.DoubleToInt64Bits(s.GradientNorm));
                        foreach (var p in s.Parameters) trace.Add(BitConverter.DoubleToInt64Bits(p));
                    });
                trace.AddRange([(long)outcome.Reason, outcome.Iterations, BitConverter.DoubleToInt64Bits(outcome.Value)]);
                trace.AddRange(outcome.Parameters.Select(BitConverter.DoubleToInt64Bits));
                return trace;
            }
            finally
            {
                cache.Return(compiled);
            }
        }
    }
}
