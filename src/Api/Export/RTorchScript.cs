using System.Text;
using Autograd.Optimization;

namespace Autograd.Api.Export;

/// <summary>
/// The R torch script, in the tutorial's idiom: parameters made with <c>torch_tensor(..., requires_grad = TRUE)</c>,
/// <c>value$backward()</c>, and for plain sgd the update itself inside <c>with_no_grad</c> followed by
/// <c>grad$zero_()</c>; the other optimizers use torch's <c>optim_*</c>. Names the script defines start with a dot.
/// </summary>
public static class RTorchScript
{
    public static string Write(ExportPlan plan)
    {
        var s = new StringBuilder();
        foreach (var line in plan.Description()) s.Append(line.Length == 0 ? "#\n" : $"# {line}\n");
        s.Append("\nlibrary(torch)\n");
        s.Append(plan.Float32 ? "torch_set_default_dtype(torch_float32())\n" : "torch_set_default_dtype(torch_float64())\n");
        if (plan.Data.Count > 0)
        {
            s.Append("\n# Data\n");
            if (plan.DataInCsv)
            {
                s.Append(".data <- read.csv(\"data.csv\", check.names = FALSE)\n");
                foreach (var column in plan.Data) s.Append($"{column.ScriptName} <- torch_tensor(.data[[\"{column.Name}\"]])\n");
            }
            else
            {
                foreach (var column in plan.Data) s.Append($"{column.ScriptName} <- torch_tensor(c({plan.Numbers(column.Values)}))\n");
            }
        }
        if (plan.Constants.Count > 0)
        {
            s.Append("\n# Constants\n");
            foreach (var c in plan.Constants) s.Append($"{c.ScriptName} <- torch_tensor({Values(plan, c)})\n");
        }
        s.Append("\n# Parameters: the start; torch records every operation on them\n");
        foreach (var p in plan.Parameters) s.Append($"{p.ScriptName} <- torch_tensor({Values(plan, p)}, requires_grad = TRUE)\n");
        var list = $"list({string.Join(", ", plan.Parameters.Select(p => p.ScriptName))})";

        s.Append("\n.loss <- function() {\n");
        foreach (var (name, expression) in plan.Formula.Statements) s.Append($"  {name} <- {expression}\n");
        s.Append($"  {plan.Formula.Expression}\n}}\n\n");

        var o = plan.Optimizer;
        var lr = plan.Number(o.EffectiveLearningRate);
        var wd = plan.Number(plan.WeightDecay);
        var plain = o.Kind == OptimizerKind.Sgd && o.Momentum == 0 && plan.WeightDecay == 0;
        if (plain) s.Append($"lr <- {lr}\n");
        else
            s.Append(".optimizer <- ").Append(o.Kind switch
            {
                OptimizerKind.Sgd => $"optim_sgd({list}, lr = {lr}, momentum = {plan.Number(o.Momentum)}, dampening = {plan.Number(o.Dampening)}, weight_decay = {wd}, nesterov = {R(o.Nesterov)})",
                OptimizerKind.Adam => $"optim_adam({list}, lr = {lr}, betas = c({plan.Number(o.Beta1)}, {plan.Number(o.Beta2)}), eps = {plan.Number(o.Eps ?? 1e-8)}, weight_decay = {wd}, amsgrad = {R(o.Amsgrad)})",
                OptimizerKind.AdamW => $"optim_adamw({list}, lr = {lr}, betas = c({plan.Number(o.Beta1)}, {plan.Number(o.Beta2)}), eps = {plan.Number(o.Eps ?? 1e-8)}, weight_decay = {wd}, amsgrad = {R(o.Amsgrad)})",
                OptimizerKind.RmsProp => $"optim_rmsprop({list}, lr = {lr}, alpha = {plan.Number(o.Alpha)}, eps = {plan.Number(o.Eps ?? 1e-8)}, weight_decay = {wd}, momentum = {plan.Number(o.Momentum)}, centered = {R(o.Centered)})",
                OptimizerKind.Adagrad => $"optim_adagrad({list}, lr = {lr}, lr_decay = {plan.Number(o.LearningRateDecay)}, weight_decay = {wd}, initial_accumulator_value = {plan.Number(o.InitialAccumulatorValue)}, eps = {plan.Number(o.Eps ?? 1e-10)})",
                _ => $"optim_lbfgs({list}, lr = {lr}, max_iter = 1, history_size = {o.HistorySize}, line_search_fn = {(o.StrongWolfe ? "\"strong_wolfe\"" : "NULL")}, tolerance_grad = -Inf, tolerance_change = -Inf)",
            }).Append('\n');
        var lbfgs = o.Kind == OptimizerKind.Lbfgs;
        if (lbfgs) s.Append(".closure <- function() {\n  .optimizer$zero_grad()\n  value <- .loss()\n  value$backward()\n  value\n}\n");
        s.Append(".previous <- NULL\n");
        s.Append($"for (i in 1:{plan.MaxIterations}) {{\n");
        if (!plain) s.Append("  .optimizer$zero_grad()\n");
        s.Append("  value <- .loss()\n  value$backward()\n");
        s.Append("  if (!is.finite(as.numeric(value))) break\n");
        if (plan.GradientNormTolerance is { } g)
            s.Append($"  if (sqrt(sum(sapply({list}, function(p) as.numeric(torch_sum(p$grad^2)))))) <= {plan.Number(g)}) break\n");
        if (plan.ValueChangeTolerance is { } v)
            s.Append($"  if (!is.null(.previous) && abs(as.numeric(value) - .previous) <= {plan.Number(v)}) break\n  .previous <- as.numeric(value)\n");
        if (plan.ParameterChangeTolerance is not null) s.Append($"  .before <- lapply({list}, function(p) p$detach()$clone())\n");
        if (plain)
        {
            s.Append("  with_no_grad({\n");
            foreach (var p in plan.Parameters) s.Append($"    {p.ScriptName}$sub_(lr * {p.ScriptName}$grad)\n    {p.ScriptName}$grad$zero_()\n");
            s.Append("  })\n");
        }
        else s.Append(lbfgs ? "  .optimizer$step(.closure)\n" : "  .optimizer$step()\n");
        if (plan.ParameterChangeTolerance is { } step)
            s.Append($"  if (sqrt(sum(mapply(function(p, b) as.numeric(torch_sum((p$detach() - b)^2)), {list}, .before))) <= {plan.Number(step)}) break\n");
        s.Append("}\n\n");
        foreach (var p in plan.Parameters)
            s.Append($"cat(\"{p.Name} =\", format(as_array({p.ScriptName}$detach()), digits = 17), \"\\n\")\n");
        return s.ToString();
    }

    static string Values(ExportPlan plan, ExportValue value) =>
        value.IsScalar ? plan.Number(value.Values[0]) : $"c({plan.Numbers(value.Values)})";

    static string R(bool value) => value ? "TRUE" : "FALSE";
}
