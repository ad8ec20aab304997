using System.Numerics;
using Autograd.Api.Datasets;
using Autograd.Api.Gradients;
using Autograd.Api.Infrastructure;
using Autograd.Contracts;
using Autograd.Expressions;
using Autograd.Optimization;
using Microsoft.Extensions.Options;

namespace Autograd.Api.Minimize;

/// <summary>
/// A job as any worker, in this process or another, rebuilds its work from: the request as accepted (the formula or
/// model and loss, inline data or a dataset id, start parameters and constants, optimizer, stopping rules, mini-batches),
/// the owner whose datasets it may read, its id and creation time, and the submitting request's trace context.
/// Plain data: it serialises as JSON.
/// </summary>
public sealed record MinimizeSpec(string Id, string? Owner, MinimizeRequest Request, DateTimeOffset CreatedAt, string? TraceParent = null);

/// <summary>A spec translated: the job's first record and its compiled work.</summary>
/// <param name="WallCapBinds">True when the service's wall-clock cap, not the request's own time limit, is the one that can stop the job.</param>
public sealed record MinimizeTranslation(MinimizeJob Record, IMinimizeWork Work, bool WallCapBinds);

/// <summary>Request → job: validates a spec and compiles its work; the same whether the API checks it or a worker rebuilds it.</summary>
/// <exception cref="ProblemException">400/413 for a bad request.</exception>
public sealed class MinimizeTranslator(IDatasetStore datasets, FormulaCache cache, IOptions<ServiceLimits> limits, IOptions<MinimizeOptions> options)
{
    readonly ServiceLimits _limits = limits.Value;
    readonly MinimizeOptions _options = options.Value;

    public MinimizeTranslation Translate(MinimizeSpec spec)
    {
        var request = spec.Request;
        var (source, target) = LossSource(request);
        var race = RaceRequests.Parse(request);
        var settings = race?[0].Settings ?? OptimizerRequests.ToSettings(request.Optimizer);
        var rules = StoppingRulesOf(request);
        if (request.RecordEvery < 1)
            throw Problems.Invalid("recordEvery", $"recordEvery must be 1 or more, not {request.RecordEvery}.");
        var formula = source.Parse(cache, _limits.FormulaLimits);
        var data = DataSource.Resolve(request.Data, request.Dataset, datasets, spec.Owner, formula,
            () => GradientService.BoundNames(request.Parameters?.Keys, request.Constants?.Keys), ModelFeatures.Needs(request));
        var inputs = ModelFeatures.Bind(request, target, formula, data, _limits);
        var fit = FitOf(request, inputs, target);
        var bounds = LeastSquaresRequests.Resolve(request.Bounds, inputs);
        var leastSquares = LeastSquaresRequests.Of(formula);
        foreach (var runSettings in race?.Select(r => r.Settings) ?? [settings])
        {
            if (runSettings.Kind != OptimizerKind.LevenbergMarquardt) continue;
            if (leastSquares is null)
                throw new ProblemException(400, "not-least-squares", "Levenberg-Marquardt needs a least-squares loss",
                    "levenberg-marquardt minimises a sum of squared residuals, but this loss is not mean((r)^2) or sum((r)^2): " +
                    "give 'residuals', or 'model' with loss 'mse', or an expression of that form (without let).",
                    new Dictionary<string, object?> { ["field"] = "optimizer.type" });
            if (fit?.BatchSize is not null)
                throw Problems.Invalid("batchSize", "levenberg-marquardt uses every row in each step (its Jacobian is over all residuals); leave out batchSize.");
        }
        IMinimizeWork work = race is not null
            ? RaceMinimizeWork.Compile(race, request.RaceTarget, (runSettings, turns, run) => request.Dtype == DType.Float32
                ? Compile<float>(request, source, inputs, runSettings, rules, fit, bounds, leastSquares, turns, run)
                : Compile<double>(request, source, inputs, runSettings, rules, fit, bounds, leastSquares, turns, run))
            : request.Dtype == DType.Float32
            ? Compile<float>(request, source, inputs, settings, rules, fit, bounds, leastSquares)
            : Compile<double>(request, source, inputs, settings, rules, fit, bounds, leastSquares);
        var record = new MinimizeJob
        {
            Id = spec.Id,
            Status = JobStatus.Queued,
            Expression = source.Text,
            Dataset = request.Dataset,
            BatchSize = fit?.BatchSize,
            Optimizer = race is null ? OptimizerRequests.NameOf(settings.Kind) : "race",
            Dtype = request.Dtype,
            MaxIterations = rules.MaxIterations,
            Parameters = request.Parameters,
            RecordEvery = request.RecordEvery,
            CreatedAt = spec.CreatedAt,
            StartProjected = bounds?.StartProjection is null ? null : true,
        };
        return new MinimizeTranslation(record, work, WallCapBinds: !(request.TimeLimitSeconds < _options.MaxWallSeconds));
    }

    StoppingRules StoppingRulesOf(MinimizeRequest request)
    {
        if (request.MaxIterations is not { } max)
            throw Problems.Invalid("maxIterations", $"'maxIterations' is required: how many iterations to run at most (up to {_options.MaxIterations:N0}).");
        if (max < 1 || max > _options.MaxIterations)
            throw Problems.Invalid("maxIterations", $"maxIterations must be between 1 and {_options.MaxIterations:N0}, not {max}.");
        CheckTolerance(request.GradientNormTolerance, "gradientNormTolerance");
        CheckTolerance(request.ValueChangeTolerance, "valueChangeTolerance");
        CheckTolerance(request.ParameterChangeTolerance, "parameterChangeTolerance");
        if (request.TimeLimitSeconds is { } seconds && !(seconds > 0 && double.IsFinite(seconds)))
            throw Problems.Invalid("timeLimitSeconds", $"timeLimitSeconds must be a positive number, not {seconds}.");
        var wall = Math.Min(request.TimeLimitSeconds ?? double.MaxValue, _options.MaxWallSeconds);
        return new StoppingRules(max)
        {
            GradientNormTolerance = request.GradientNormTolerance,
            ValueChangeTolerance = request.ValueChangeTolerance,
            ParameterChangeTolerance = request.ParameterChangeTolerance,
            TimeLimit = TimeSpan.FromSeconds(wall),
        };

        static void CheckTolerance(double? value, string field)
        {
            if (value is { } v && !(v >= 0 && double.IsFinite(v)))
                throw Problems.Invalid(field, $"{field} must be a finite number of at least 0, not {v}.");
        }
    }

    /// <summary>The formula to minimise: the expression as given, or the expansion of model, target and loss.</summary>
    static (FormulaSource Source, string? Target) LossSource(MinimizeRequest request)
    {
        if (request.Residuals is not null)
        {
            if (request.Expression is not null || request.Model is not null || request.Target is not null || request.Loss is not null)
                throw Problems.Invalid("residuals", "Give 'residuals' alone: the loss is then sum((residuals)^2), without 'expression', 'model', 'target' or 'loss'.");
            if (string.IsNullOrWhiteSpace(request.Residuals))
                throw Problems.Invalid("residuals", "'residuals' is empty; give one residual per row, e.g. \"y - (b0 + b1*x)\".");
            return (LeastSquaresRequests.LossOfResiduals(request.Residuals), null);
        }
        if (request.Model is null)
        {
            if (string.IsNullOrWhiteSpace(request.Expression))
                throw Problems.Invalid("expression", "Give the loss as 'expression', e.g. \"(a - x[1])^2 + b*(x[2] - x[1]^2)^2\", or as 'model', 'target' and 'loss'.");
            if (request.Target is not null || request.Loss is not null)
                throw Problems.Invalid("target", "'target' and 'loss' go with 'model', not with 'expression'.");
            return (new FormulaSource(request.Expression), null);
        }
        if (request.Expression is not null)
            throw Problems.Invalid("model", "Give either 'expression' or 'model' (with 'target' and 'loss'), not both.");
        if (string.IsNullOrWhiteSpace(request.Model))
            throw Problems.Invalid("model", "'model' is empty; give the prediction as a formula, e.g. \"b0 + b1*x\".");
        if (request.Target is null || !InputBinding.IsValidName(request.Target))
            throw Problems.Invalid("target", "'target' is required with 'model': the name of the data column the model predicts.");
        var loss = request.Loss ?? "mse";
        try
        {
            var (expression, offset) = ModelLoss.Expand(request.Model, request.Target, loss, request.LossOptions);
            return (FormulaSource.ForModel(expression, offset, request.Model), request.Target);
        }
        catch (ArgumentException e)
        {
            var field = ModelLoss.Names.Contains(loss) ? "lossOptions" : "loss";
            throw new ProblemException(400, field == "loss" ? "unknown-loss" : "invalid-loss-option", "The loss is not valid", e.Message,
                new Dictionary<string, object?> { ["field"] = field });
        }
    }

    static FitSpec? FitOf(MinimizeRequest request, BoundInputs inputs, string? target)
    {
        var dataSlots = Enumerable.Range(0, inputs.Specs.Count).Where(i => inputs.Specs[i].Kind == InputKind.Data).ToArray();
        if (dataSlots.Length == 0)
        {
            if (request.BatchSize is not null)
                throw Problems.Invalid("batchSize", "batchSize needs data: give 'data' or 'dataset' columns that the formula uses.");
            return null;
        }
        var rows = inputs.Specs[dataSlots[0]].Rows;
        if (request.BatchSize is { } batch && (batch < 1 || batch > rows))
            throw Problems.Invalid("batchSize", $"batchSize must be between 1 and the {rows:N0} rows of the data, not {batch}.");
        var targetColumn = target is null ? null : inputs.Specs.Select((spec, i) => (spec, i))
            .Where(p => p.spec.Name == target && p.spec.Kind == InputKind.Data).Select(p => inputs.Values[p.i]).FirstOrDefault();
        if (target is not null && targetColumn is null)
            throw Problems.Invalid("target", $"The target '{target}' is not a data column of this request.");
        var batchSize = request.BatchSize is { } b && b < rows ? b : (int?)null;
        return new FitSpec(rows, batchSize, request.Shuffle, request.Seed, request.Model is null ? null : request.Loss ?? "mse", targetColumn);
    }

    IMinimizeWork Compile<T>(MinimizeRequest request, FormulaSource source, BoundInputs inputs, OptimizerSettings settings,
        StoppingRules rules, FitSpec? fit, BoundsSpec? bounds = null, LeastSquaresSpec? leastSquares = null, RaceTurns? turns = null,
        int run = 0) where T : IFloatingPointIeee754<T>
    {
        var specs = fit?.BatchSize is { } batch
            ? inputs.Specs.Select(s => s.Kind == InputKind.Data ? s with { Length = batch * Math.Max(1, s.Columns) } : s).ToList()
            : inputs.Specs;
        var compiled = GradientService.Rent<T>(cache, source, inputs, _limits, specs);
        if (settings.NeedsHessian && compiled.ParameterCount > _limits.MaxHessianParameters)
        {
            cache.Return(compiled);
            throw Problems.TooLarge("hessian-too-large", "optimizer.type",
                $"newton needs the Hessian over {compiled.ParameterCount:N0} parameter elements; the limit is {_limits.MaxHessianParameters:N0}. Use lbfgs instead.");
        }
        IObjective<T> objective = fit?.BatchSize is { } size
            ? new MiniBatchObjective<T>(compiled,
                Enumerable.Range(0, specs.Count).Where(i => specs[i].Kind == InputKind.Data)
                    .Select(i => (i, GradientService.Convert<T>(inputs.Values[i]))).ToList(),
                size, fit.Shuffle, fit.Seed)
            : new FormulaObjective<T>(compiled);
        if (turns is not null) objective = new TurnTakingObjective<T>(objective, turns, run);
        return new FormulaMinimizeWork<T>(compiled, objective, inputs, settings, rules, request.IncludeGradient, cache, source, _limits, fit)
        {
            Bounds = bounds,
            LeastSquares = leastSquares,
        };
    }
}
