using System.Text;
using Autograd.Optimization;

namespace Autograd.Api.Export;

/// <summary>
/// The Python scripts: PyTorch (torch.optim's optimizers, autograd for the gradient), JAX (jax.value_and_grad, the
/// update rules written out) and SciPy (NumPy for the loss, the complex step for the gradient, the update rules
/// written out, scipy.optimize's L-BFGS-B for lbfgs). Every script ends by printing its final parameters as JSON.
/// Names the scripts define themselves start with an underscore, so that no parameter can collide with them.
/// </summary>
public static class PythonScripts
{
    public static string Write(ExportPlan plan)
    {
        var s = new StringBuilder();
        s.Append("#!/usr/bin/env python3\n\"\"\"");
        s.AppendJoin("\n", plan.Description());
        s.Append("\n\"\"\"\nimport json\nimport math\n");
        if (plan.DataInCsv) s.Append("import csv\n");
        s.Append('\n');
        switch (plan.Language)
        {
            case ExportLanguage.PyTorch:
                s.Append("import torch\n\n");
                s.Append(plan.Float32 ? "torch.set_default_dtype(torch.float32)\n" : "torch.set_default_dtype(torch.float64)\n");
                break;
            case ExportLanguage.Jax:
                s.Append("import jax\nimport jax.numpy as jnp\nimport jax.scipy.special\n\n");
                if (!plan.Float32) s.Append("jax.config.update(\"jax_enable_x64\", True)\n");
                break;
            default:
                s.Append("import numpy as np\nimport scipy.optimize\nimport scipy.special\n\n");
                s.Append(OpTranslations.ScipyPrelude.Replace("\r", "")).Append('\n');
                break;
        }
        WriteValues(s, plan);
        WriteLoss(s, plan);
        if (plan.Language == ExportLanguage.PyTorch) WriteTorchLoop(s, plan);
        else WriteFlatLoop(s, plan);
        return s.ToString();
    }

    static string Array(ExportPlan plan, ExportValue value, bool requiresGrad = false)
    {
        var numbers = value.IsScalar ? plan.Number(value.Values[0]) : $"[{plan.Numbers(value.Values)}]";
        return plan.Language switch
        {
            ExportLanguage.PyTorch => requiresGrad ? $"torch.tensor({numbers}, requires_grad=True)" : $"torch.tensor({numbers})",
            ExportLanguage.Jax => $"jnp.asarray({numbers})",
            _ => value.IsScalar ? numbers : $"np.array({numbers})",
        };
    }

    static void WriteValues(StringBuilder s, ExportPlan plan)
    {
        var tensor = plan.Language switch { ExportLanguage.PyTorch => "torch.tensor", ExportLanguage.Jax => "jnp.asarray", _ => "np.array" };
        if (plan.Data.Count > 0)
        {
            s.Append("\n# Data\n");
            if (plan.DataInCsv)
            {
                s.Append("with open(\"data.csv\", newline=\"\") as _file:\n    _rows = list(csv.DictReader(_file))\n");
                foreach (var column in plan.Data)
                    s.Append($"{column.ScriptName} = {tensor}([float(_row[\"{column.Name}\"]) for _row in _rows])\n");
            }
            else
            {
                foreach (var column in plan.Data) s.Append($"{column.ScriptName} = {tensor}([{plan.Numbers(column.Values)}])\n");
            }
        }
        if (plan.Constants.Count > 0)
        {
            s.Append("\n# Constants\n");
            foreach (var constant in plan.Constants) s.Append($"{constant.ScriptName} = {Array(plan, constant)}\n");
        }
        if (plan.Language == ExportLanguage.PyTorch)
        {
            s.Append("\n# Parameters: the start, leaves that require grad (the tutorial's requires_grad = TRUE)\n");
            foreach (var parameter in plan.Parameters) s.Append($"{parameter.ScriptName} = {Array(plan, parameter, requiresGrad: true)}\n");
            s.Append($"_params = [{string.Join(", ", plan.Parameters.Select(p => p.ScriptName))}]\n");
        }
        else
        {
            var flat = plan.Parameters.SelectMany(p => p.Values);
            s.Append("\n# Parameters: the start, all elements in one vector; _unpack gives them their names and shapes\n");
            s.Append($"_start = {(plan.Language == ExportLanguage.Jax ? "jnp.asarray" : "np.array")}([{plan.Numbers(flat)}])\n\n\n");
            s.Append("def _unpack(flat):\n    return (");
            var offset = 0;
            foreach (var p in plan.Parameters)
            {
                s.Append(p.IsScalar ? $"flat[{offset}], " : $"flat[{offset}:{offset + p.Values.Length}], ");
                offset += p.Values.Length;
            }
            s.Append(")\n");
        }
    }

    static void WriteLoss(StringBuilder s, ExportPlan plan)
    {
        var arguments = plan.Language == ExportLanguage.PyTorch ? "" : string.Join(", ", plan.Parameters.Select(p => p.ScriptName));
        s.Append($"\n\ndef _loss({arguments}):\n");
        foreach (var (name, expression) in plan.Formula.Statements) s.Append($"    {name} = {expression}\n");
        s.Append($"    return {plan.Formula.Expression}\n\n\n");
    }

    static void WriteTorchLoop(StringBuilder s, ExportPlan plan)
    {
        var o = plan.Optimizer;
        var lr = plan.Number(o.EffectiveLearningRate);
        var wd = plan.Number(plan.WeightDecay);
        s.Append("_optimizer = ").Append(o.Kind switch
        {
            OptimizerKind.Sgd => $"torch.optim.SGD(_params, lr={lr}, momentum={plan.Number(o.Momentum)}, dampening={plan.Number(o.Dampening)}, weight_decay={wd}, nesterov={o.Nesterov})",
            OptimizerKind.Adam => $"torch.optim.Adam(_params, lr={lr}, betas=({plan.Number(o.Beta1)}, {plan.Number(o.Beta2)}), eps={plan.Number(o.Eps ?? 1e-8)}, weight_decay={wd}, amsgrad={o.Amsgrad})",
            OptimizerKind.AdamW => $"torch.optim.AdamW(_params, lr={lr}, betas=({plan.Number(o.Beta1)}, {plan.Number(o.Beta2)}), eps={plan.Number(o.Eps ?? 1e-8)}, weight_decay={wd}, amsgrad={o.Amsgrad})",
            OptimizerKind.RmsProp => $"torch.optim.RMSprop(_params, lr={lr}, alpha={plan.Number(o.Alpha)}, eps={plan.Number(o.Eps ?? 1e-8)}, weight_decay={wd}, momentum={plan.Number(o.Momentum)}, centered={o.Centered})",
            OptimizerKind.Adagrad => $"torch.optim.Adagrad(_params, lr={lr}, lr_decay={plan.Number(o.LearningRateDecay)}, weight_decay={wd}, initial_accumulator_value={plan.Number(o.InitialAccumulatorValue)}, eps={plan.Number(o.Eps ?? 1e-10)})",
            // One quasi-Newton iteration per step, and none of torch's own stopping tests: the loop below applies the job's.
            _ => $"torch.optim.LBFGS(_params, lr={lr}, max_iter=1, history_size={o.HistorySize}, line_search_fn={(o.StrongWolfe ? "\"strong_wolfe\"" : "None")}, tolerance_grad=-math.inf, tolerance_change=-math.inf)",
        }).Append('\n');
        var lbfgs = o.Kind == OptimizerKind.Lbfgs;
        if (lbfgs)
            s.Append("\n\ndef _closure():\n    _optimizer.zero_grad()\n    _value = _loss()\n    _value.backward()\n    return _value\n\n\n");
        s.Append("_previous = None\n");
        s.Append($"for _iteration in range(1, {plan.MaxIterations} + 1):\n");
        s.Append("    _optimizer.zero_grad()\n    _value = _loss()\n    _value.backward()\n");
        s.Append("    if not math.isfinite(_value.item()):\n        break\n");
        if (plan.GradientNormTolerance is { } g)
            s.Append($"    if math.sqrt(sum(float(torch.sum(_p.grad * _p.grad)) for _p in _params)) <= {plan.Number(g)}:\n        break\n");
        if (plan.ValueChangeTolerance is { } v)
            s.Append($"    if _previous is not None and abs(_value.item() - _previous) <= {plan.Number(v)}:\n        break\n    _previous = _value.item()\n");
        if (plan.ParameterChangeTolerance is not null) s.Append("    _before = [_p.detach().clone() for _p in _params]\n");
        s.Append(lbfgs ? "    _optimizer.step(_closure)\n" : "    _optimizer.step()\n");
        if (plan.ParameterChangeTolerance is { } p)
            s.Append($"    if math.sqrt(sum(float(torch.sum((_p.detach() - _b) ** 2)) for _p, _b in zip(_params, _before))) <= {plan.Number(p)}:\n        break\n");
        s.Append("\nprint(json.dumps({");
        s.AppendJoin(", ", plan.Parameters.Select(q => $"\"{q.Name}\": {q.ScriptName}.tolist()"));
        s.Append("}))\n");
    }

    /// <summary>JAX and SciPy: the parameters as one flat vector, the gradient from jax or the complex step, the rule written out.</summary>
    static void WriteFlatLoop(StringBuilder s, ExportPlan plan)
    {
        var jax = plan.Language == ExportLanguage.Jax;
        var xp = jax ? "jnp" : "np";
        if (jax)
        {
            s.Append("_value_and_gradient = jax.jit(jax.value_and_grad(lambda flat: _loss(*_unpack(flat))))\n\n\n");
        }
        else
        {
            s.Append("""
                def _value_and_gradient(flat):
                    # The complex step: Im f(x + ih e_i) / h is df/dx_i to rounding, with no cancellation (Squire and Trapp, 1998).
                    value = float(np.real(_loss(*_unpack(flat))))
                    gradient = np.empty(flat.size)
                    for i in range(flat.size):
                        z = flat.astype(complex)
                        z[i] += 1e-30j
                        gradient[i] = np.imag(_loss(*_unpack(z))) / 1e-30
                    return value, gradient



                """.Replace("\r", ""));
        }
        var o = plan.Optimizer;
        if (o.Kind == OptimizerKind.Lbfgs)
        {
            // SciPy's L-BFGS-B: its own line search and stopping tests, so the iterations differ from the service's;
            // the results agree where both have converged.
            var gtol = plan.GradientNormTolerance is { } g ? plan.Number(g) : "0.0";
            s.Append($"_result = scipy.optimize.minimize(_value_and_gradient, _start, jac=True, method=\"L-BFGS-B\",\n");
            s.Append($"                                  options={{\"maxiter\": {plan.MaxIterations}, \"maxcor\": {o.HistorySize}, \"gtol\": {gtol}, \"ftol\": 0.0}})\n");
            s.Append("_flat = _result.x\n");
        }
        else
        {
            s.Append("_flat = _start\n").Append(RuleState(o, xp)).Append("_previous = None\n");
            s.Append($"for _iteration in range(1, {plan.MaxIterations} + 1):\n");
            s.Append("    _value, _g = _value_and_gradient(_flat)\n    _value = float(_value)\n");
            s.Append($"    if not (math.isfinite(_value) and bool({xp}.all({xp}.isfinite(_g)))):\n        break\n");
            if (plan.GradientNormTolerance is { } g)
                s.Append($"    if float({xp}.sqrt({xp}.sum(_g * _g))) <= {plan.Number(g)}:\n        break\n");
            if (plan.ValueChangeTolerance is { } v)
                s.Append($"    if _previous is not None and abs(_value - _previous) <= {plan.Number(v)}:\n        break\n    _previous = _value\n");
            if (plan.ParameterChangeTolerance is not null) s.Append("    _before = _flat\n");
            s.Append(Rule(plan, xp));
            if (plan.ParameterChangeTolerance is { } p)
                s.Append($"    if float({xp}.sqrt({xp}.sum((_flat - _before) ** 2))) <= {plan.Number(p)}:\n        break\n");
        }
        s.Append("\n_final = _unpack(_flat)\nprint(json.dumps({");
        s.AppendJoin(", ", plan.Parameters.Select((q, i) => q.IsScalar ? $"\"{q.Name}\": float(_final[{i}])" : $"\"{q.Name}\": [float(_e) for _e in _final[{i}]]"));
        s.Append("}))\n");
    }

    static string RuleState(OptimizerSettings o, string xp) => o.Kind switch
    {
        OptimizerKind.Sgd => "_buffer = None\n",
        OptimizerKind.Adam or OptimizerKind.AdamW => $"_m = {xp}.zeros_like(_start)\n_v = {xp}.zeros_like(_start)\n_vmax = {xp}.zeros_like(_start)\n_t = 0\n",
        OptimizerKind.RmsProp => $"_square = {xp}.zeros_like(_start)\n_average = {xp}.zeros_like(_start)\n_buffer = {xp}.zeros_like(_start)\n",
        _ => $"_sum = {xp}.full_like(_start, {FormulaTranslator.Number(o.InitialAccumulatorValue, true)})\n_t = 0\n",
    };

    /// <summary>One update, as torch.optim documents it and the service computes it, in the same order of operations.</summary>
    static string Rule(ExportPlan plan, string xp)
    {
        var o = plan.Optimizer;
        string N(double v) => plan.Number(v);
        var lr = N(o.EffectiveLearningRate);
        var wd = plan.WeightDecay;
        var s = new StringBuilder();
        switch (o.Kind)
        {
            case OptimizerKind.Sgd:
                if (wd != 0) s.Append($"    _g = _g + {N(wd)} * _flat\n");
                if (o.Momentum != 0)
                {
                    s.Append($"    _buffer = _g if _buffer is None else {N(o.Momentum)} * _buffer + (1.0 - {N(o.Dampening)}) * _g\n");
                    s.Append(o.Nesterov ? $"    _g = _g + {N(o.Momentum)} * _buffer\n" : "    _g = _buffer\n");
                }
                s.Append($"    _flat = _flat - {lr} * _g\n");
                break;
            case OptimizerKind.Adam or OptimizerKind.AdamW:
                s.Append("    _t += 1\n");
                if (wd != 0)
                    s.Append(o.Kind == OptimizerKind.AdamW ? $"    _flat = _flat * (1.0 - {lr} * {N(wd)})\n" : $"    _g = _g + {N(wd)} * _flat\n");
                s.Append($"    _m = {N(o.Beta1)} * _m + (1.0 - {N(o.Beta1)}) * _g\n");
                s.Append($"    _v = {N(o.Beta2)} * _v + (1.0 - {N(o.Beta2)}) * _g * _g\n");
                if (o.Amsgrad) s.Append($"    _vmax = {xp}.maximum(_vmax, _v)\n");
                s.Append($"    _denominator = {xp}.sqrt({(o.Amsgrad ? "_vmax" : "_v")}) / math.sqrt(1.0 - {N(o.Beta2)} ** _t) + {N(o.Eps ?? 1e-8)}\n");
                s.Append($"    _flat = _flat - {lr} / (1.0 - {N(o.Beta1)} ** _t) * _m / _denominator\n");
                break;
            case OptimizerKind.RmsProp:
                if (wd != 0) s.Append($"    _g = _g + {N(wd)} * _flat\n");
                s.Append($"    _square = {N(o.Alpha)} * _square + (1.0 - {N(o.Alpha)}) * _g * _g\n");
                s.Append("    _variance = _square\n");
                if (o.Centered)
                    s.Append($"    _average = {N(o.Alpha)} * _average + (1.0 - {N(o.Alpha)}) * _g\n    _variance = _variance - _average * _average\n");
                s.Append($"    _step = _g / ({xp}.sqrt(_variance) + {N(o.Eps ?? 1e-8)})\n");
                if (o.Momentum != 0) s.Append($"    _buffer = {N(o.Momentum)} * _buffer + _step\n    _step = _buffer\n");
                s.Append($"    _flat = _flat - {lr} * _step\n");
                break;
            default:
                s.Append("    _t += 1\n");
                if (wd != 0) s.Append($"    _g = _g + {N(wd)} * _flat\n");
                s.Append("    _sum = _sum + _g * _g\n");
                s.Append($"    _flat = _flat - {lr} / (1.0 + (_t - 1) * {N(o.LearningRateDecay)}) * _g / ({xp}.sqrt(_sum) + {N(o.Eps ?? 1e-10)})\n");
                break;
        }
        return s.ToString();
    }
}
