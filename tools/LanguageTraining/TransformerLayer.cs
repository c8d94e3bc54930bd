using System.Numerics.Tensors;
using FeedbackHub.Language.Semantic;

namespace FeedbackHub.Tools.LanguageTraining;

/// <summary>
/// The last (sixth) transformer layer of all-MiniLM-L6-v2, run and trained here (issue 14, eighth round): multi-head
/// self-attention (12 heads of 32), residual and LayerNorm, a GELU feed-forward of 1,536, residual and LayerNorm, exactly
/// as the packaged ONNX graph computes it (LayerNorm epsilon 1e-12, exact erf GELU), on one sentence's token states
/// without padding. Its weights come from <c>layer5.bin</c> (tools/LanguageTraining/minilm-kit.py) in the graph's
/// layout (MatMul weights [in, out]), so tuned weights go back into the packaged model under the same names.
/// <see cref="Backward"/> gives the gradients of every weight (not of the input: the layers below stay frozen).
/// </summary>
public sealed class TransformerLayer
{
    public const int D = 384;
    public const int Heads = 12;
    public const int HeadSize = 32;
    public const int F = 1536;
    private const float Epsilon = 1e-12f;

    /// <summary>A layer's 16 weights in the order of layer5.bin and layer4.bin and of each layer in the shipped file
    /// (<see cref="MiniLmTunedLayers.LayerShapes"/>; the shapes of the last layer, which every layer shares; minilm-kit.py's
    /// LAYER4 and LAYER5 list the same).</summary>
    public static IReadOnlyList<(string Name, int Rows, int Cols)> Shapes { get; } = MiniLmTunedLayers.LayerShapes(MiniLmTunedLayers.LastLayer);

    private const int Wq = 0, Bq = 1, Wk = 2, Bk = 3, Wv = 4, Bv = 5, Wo = 6, Bo = 7, G1 = 8, B1 = 9, Wi = 10, Bi = 11, Wf = 12, Bf = 13, G2 = 14, B2 = 15;

    public TransformerLayer(float[][] weights)
    {
        if (weights.Length != Shapes.Count || weights.Select((w, i) => w.Length != Shapes[i].Rows * Shapes[i].Cols).Any(bad => bad))
        {
            throw new ArgumentException("not the 16 weights of the layer", nameof(weights));
        }

        Weights = weights;
    }

    public float[][] Weights { get; }

    public static TransformerLayer Load(string path)
    {
        using var reader = new BinaryReader(File.OpenRead(path));
        var weights = Shapes.Select(s =>
        {
            var w = new float[s.Rows * s.Cols];
            for (var i = 0; i < w.Length; i++)
            {
                w[i] = reader.ReadSingle();
            }

            return w;
        }).ToArray();
        if (reader.BaseStream.Position != reader.BaseStream.Length)
        {
            throw new InvalidDataException($"{path} is longer than the layer's weights");
        }

        return new TransformerLayer(weights);
    }

    public TransformerLayer Clone() => new([.. Weights.Select(w => (float[])w.Clone())]);

    /// <summary>What <see cref="Forward"/> keeps for <see cref="Backward"/>.</summary>
    public sealed class Trace
    {
        internal int T;
        internal float[] X = [], Q = [], K = [], V = [], P = [], Ctx = [], N1 = [], Rstd1 = [], H1 = [], U = [], G = [], N2 = [], Rstd2 = [], Y = [];
    }

    /// <summary>The layer's output for one sentence's token states <paramref name="x"/> ([tokens, 384], row by row).</summary>
    public float[] Forward(float[] x, Trace? trace = null)
    {
        var t = x.Length / D;
        var w = Weights;
        var q = Linear(x, t, w[Wq], w[Bq], D, D);
        var k = Linear(x, t, w[Wk], w[Bk], D, D);
        var v = Linear(x, t, w[Wv], w[Bv], D, D);
        var p = new float[Heads * t * t];
        var ctx = new float[t * D];
        var scale = 1 / MathF.Sqrt(HeadSize);
        for (var h = 0; h < Heads; h++)
        {
            for (var i = 0; i < t; i++)
            {
                var row = p.AsSpan((h * t + i) * t, t);
                var qi = q.AsSpan(i * D + h * HeadSize, HeadSize);
                for (var j = 0; j < t; j++)
                {
                    row[j] = TensorPrimitives.Dot(qi, k.AsSpan(j * D + h * HeadSize, HeadSize)) * scale;
                }

                TensorPrimitives.SoftMax(row, row);
                var ci = ctx.AsSpan(i * D + h * HeadSize, HeadSize);
                for (var j = 0; j < t; j++)
                {
                    TensorPrimitives.MultiplyAdd(v.AsSpan(j * D + h * HeadSize, HeadSize), row[j], ci, ci);
                }
            }
        }

        var a = Linear(ctx, t, w[Wo], w[Bo], D, D);
        TensorPrimitives.Add(a, x, a);
        var (n1, rstd1) = Normalise(a, t);
        var h1 = Affine(n1, t, w[G1], w[B1]);
        var u = Linear(h1, t, w[Wi], w[Bi], D, F);
        var g = new float[u.Length];
        for (var i = 0; i < u.Length; i++)
        {
            g[i] = 0.5f * u[i] * (1 + Erf(u[i] / MathF.Sqrt(2)));
        }

        var f = Linear(g, t, w[Wf], w[Bf], F, D);
        TensorPrimitives.Add(f, h1, f);
        var (n2, rstd2) = Normalise(f, t);
        var y = Affine(n2, t, w[G2], w[B2]);
        if (trace is not null)
        {
            (trace.T, trace.X, trace.Q, trace.K, trace.V, trace.P, trace.Ctx, trace.N1, trace.Rstd1, trace.H1, trace.U, trace.G, trace.N2, trace.Rstd2, trace.Y) =
                (t, x, q, k, v, p, ctx, n1, rstd1, h1, u, g, n2, rstd2, y);
        }

        return y;
    }

    /// <summary>Adds to <paramref name="gradients"/> (shaped like <see cref="Weights"/>) the gradient of the loss for
    /// the output gradient <paramref name="dy"/> of the traced forward pass; returns the gradient for the layer's input
    /// when <paramref name="inputGradient"/> is set (for the layer below, when more than one is tuned), else null.</summary>
    public float[]? Backward(Trace trace, float[] dy, float[][] gradients, bool inputGradient = false)
    {
        var t = trace.T;
        var w = Weights;
        var gr = gradients;
        // Second LayerNorm and its affine: y = n2 * g2 + b2.
        var dr2 = NormaliseBackward(dy, trace.N2, trace.Rstd2, t, w[G2], gr[G2], gr[B2]);
        // f = g Wf + bf; the residual adds dr2 to h1's gradient as well.
        var dg = LinearBackward(trace.G, dr2, t, w[Wf], gr[Wf], gr[Bf], F, D);
        var du = dg;
        for (var i = 0; i < du.Length; i++)
        {
            var u = trace.U[i];
            var cdf = 0.5f * (1 + Erf(u / MathF.Sqrt(2)));
            var pdf = MathF.Exp(-0.5f * u * u) / MathF.Sqrt(2 * MathF.PI);
            du[i] = dg[i] * (cdf + u * pdf);
        }

        var dh1 = LinearBackward(trace.H1, du, t, w[Wi], gr[Wi], gr[Bi], D, F);
        TensorPrimitives.Add(dh1, dr2, dh1);
        var dr1 = NormaliseBackward(dh1, trace.N1, trace.Rstd1, t, w[G1], gr[G1], gr[B1]);
        // a = ctx Wo + bo (+ x, frozen).
        var dctx = LinearBackward(trace.Ctx, dr1, t, w[Wo], gr[Wo], gr[Bo], D, D);
        var dq = new float[t * D];
        var dk = new float[t * D];
        var dv = new float[t * D];
        var scale = 1 / MathF.Sqrt(HeadSize);
        var dp = new float[t];
        for (var h = 0; h < Heads; h++)
        {
            for (var i = 0; i < t; i++)
            {
                var row = trace.P.AsSpan((h * t + i) * t, t);
                var dci = dctx.AsSpan(i * D + h * HeadSize, HeadSize);
                for (var j = 0; j < t; j++)
                {
                    dp[j] = TensorPrimitives.Dot(dci, trace.V.AsSpan(j * D + h * HeadSize, HeadSize));
                    var dvj = dv.AsSpan(j * D + h * HeadSize, HeadSize);
                    TensorPrimitives.MultiplyAdd(dci, row[j], dvj, dvj);
                }

                var dot = TensorPrimitives.Dot(row, dp.AsSpan(0, t));
                var dqi = dq.AsSpan(i * D + h * HeadSize, HeadSize);
                var qi = trace.Q.AsSpan(i * D + h * HeadSize, HeadSize);
                for (var j = 0; j < t; j++)
                {
                    var ds = row[j] * (dp[j] - dot) * scale;
                    TensorPrimitives.MultiplyAdd(trace.K.AsSpan(j * D + h * HeadSize, HeadSize), ds, dqi, dqi);
                    var dkj = dk.AsSpan(j * D + h * HeadSize, HeadSize);
                    TensorPrimitives.MultiplyAdd(qi, ds, dkj, dkj);
                }
            }
        }

        if (!inputGradient)
        {
            WeightGradient(trace.X, dq, t, gr[Wq], gr[Bq], D, D);
            WeightGradient(trace.X, dk, t, gr[Wk], gr[Bk], D, D);
            WeightGradient(trace.X, dv, t, gr[Wv], gr[Bv], D, D);
            return null;
        }

        // x feeds the query, key and value projections and the residual around the attention.
        var dx = dr1;
        TensorPrimitives.Add(dx, LinearBackward(trace.X, dq, t, w[Wq], gr[Wq], gr[Bq], D, D), dx);
        TensorPrimitives.Add(dx, LinearBackward(trace.X, dk, t, w[Wk], gr[Wk], gr[Bk], D, D), dx);
        TensorPrimitives.Add(dx, LinearBackward(trace.X, dv, t, w[Wv], gr[Wv], gr[Bv], D, D), dx);
        return dx;
    }

    /// <summary>Zeroed arrays shaped like the weights.</summary>
    public static float[][] NewGradients() => [.. Shapes.Select(s => new float[s.Rows * s.Cols])];

    private static float[] Linear(float[] x, int t, float[] weight, float[] bias, int inputs, int outputs)
    {
        var result = new float[t * outputs];
        for (var r = 0; r < t; r++)
        {
            var o = result.AsSpan(r * outputs, outputs);
            bias.CopyTo(o);
            for (var c = 0; c < inputs; c++)
            {
                TensorPrimitives.MultiplyAdd(weight.AsSpan(c * outputs, outputs), x[r * inputs + c], o, o);
            }
        }

        return result;
    }

    /// <summary>For out = x W + b: adds x^T dout to dW and the column sums of dout to db; returns dout W^T.</summary>
    private static float[] LinearBackward(float[] x, float[] dout, int t, float[] weight, float[] dWeight, float[] dBias, int inputs, int outputs)
    {
        WeightGradient(x, dout, t, dWeight, dBias, inputs, outputs);
        var dx = new float[t * inputs];
        for (var r = 0; r < t; r++)
        {
            var d = dout.AsSpan(r * outputs, outputs);
            for (var c = 0; c < inputs; c++)
            {
                dx[r * inputs + c] = TensorPrimitives.Dot(d, weight.AsSpan(c * outputs, outputs));
            }
        }

        return dx;
    }

    private static void WeightGradient(float[] x, float[] dout, int t, float[] dWeight, float[] dBias, int inputs, int outputs)
    {
        for (var r = 0; r < t; r++)
        {
            var d = dout.AsSpan(r * outputs, outputs);
            TensorPrimitives.Add(dBias, d, dBias);
            for (var c = 0; c < inputs; c++)
            {
                var row = dWeight.AsSpan(c * outputs, outputs);
                TensorPrimitives.MultiplyAdd(d, x[r * inputs + c], row, row);
            }
        }
    }

    private static (float[] Normalised, float[] Rstd) Normalise(float[] x, int t)
    {
        var n = new float[x.Length];
        var rstd = new float[t];
        for (var r = 0; r < t; r++)
        {
            var row = x.AsSpan(r * D, D);
            var mean = TensorPrimitives.Sum(row) / D;
            var o = n.AsSpan(r * D, D);
            TensorPrimitives.Subtract(row, mean, o);
            var variance = TensorPrimitives.SumOfSquares(o) / D;
            rstd[r] = 1 / MathF.Sqrt(variance + Epsilon);
            TensorPrimitives.Multiply(o, rstd[r], o);
        }

        return (n, rstd);
    }

    private static float[] Affine(float[] n, int t, float[] gain, float[] bias)
    {
        var y = new float[n.Length];
        for (var r = 0; r < t; r++)
        {
            TensorPrimitives.FusedMultiplyAdd(n.AsSpan(r * D, D), gain, bias, y.AsSpan(r * D, D));
        }

        return y;
    }

    /// <summary>For y = LayerNorm(r) * gain + bias: adds the gain and bias gradients; returns dr.</summary>
    private static float[] NormaliseBackward(float[] dy, float[] n, float[] rstd, int t, float[] gain, float[] dGain, float[] dBias)
    {
        var dr = new float[dy.Length];
        var dn = new float[D];
        for (var r = 0; r < t; r++)
        {
            var dyr = dy.AsSpan(r * D, D);
            var nr = n.AsSpan(r * D, D);
            TensorPrimitives.Add(dBias, dyr, dBias);
            TensorPrimitives.FusedMultiplyAdd(dyr, nr, dGain, dGain);
            TensorPrimitives.Multiply(dyr, gain, dn);
            var meanDn = TensorPrimitives.Sum(dn) / D;
            var meanDnN = TensorPrimitives.Dot(dn, nr) / D;
            var o = dr.AsSpan(r * D, D);
            for (var i = 0; i < D; i++)
            {
                o[i] = rstd[r] * (dn[i] - meanDn - nr[i] * meanDnN);
            }
        }

        return dr;
    }

    /// <summary>erf to float precision (Abramowitz and Stegun 7.1.26 is too coarse for a gradient check; this is the
    /// complementary-error-function series of Numerical Recipes' erfc, relative error below 1.2e-7).</summary>
    private static float Erf(float x)
    {
        double z = Math.Abs(x);
        var k = 1 / (1 + 0.5 * z);
        var erfc = k * Math.Exp(-z * z - 1.26551223 + k * (1.00002368 + k * (0.37409196 + k * (0.09678418 + k * (-0.18628806
            + k * (0.27886807 + k * (-1.13520398 + k * (1.48851587 + k * (-0.82215223 + k * 0.17087277)))))))));
        return (float)(x >= 0 ? 1 - erfc : erfc - 1);
    }
}

/// <summary>
/// MiniLM's top layers run in order: the ones the training tool tunes (the last one since the eighth round of issue 14;
/// <c>--tune-layers 2</c> the last two). Weights and gradients are the layers' own, one layer after the other.
/// </summary>
public sealed class TopLayers
{
    public TopLayers(IReadOnlyList<TransformerLayer> layers)
    {
        Layers = layers;
        Weights = [.. layers.SelectMany(l => l.Weights)];
    }

    public IReadOnlyList<TransformerLayer> Layers { get; }

    /// <summary>Every layer's weights, the lowest layer's first.</summary>
    public float[][] Weights { get; }

    public TopLayers Clone() => new([.. Layers.Select(l => l.Clone())]);

    /// <summary>Zeroed arrays shaped like <see cref="Weights"/>.</summary>
    public float[][] NewGradients() => [.. Layers.SelectMany(_ => TransformerLayer.NewGradients())];

    /// <summary>What <see cref="Forward"/> keeps for <see cref="Backward"/>: each layer's trace.</summary>
    public sealed class Trace
    {
        internal TransformerLayer.Trace[] Layers = [];
    }

    /// <summary>The top layer's output for the token states <paramref name="x"/> below the lowest layer.</summary>
    public float[] Forward(float[] x, Trace? trace = null)
    {
        if (trace is not null && trace.Layers.Length != Layers.Count)
        {
            trace.Layers = [.. Layers.Select(_ => new TransformerLayer.Trace())];
        }

        for (var i = 0; i < Layers.Count; i++)
        {
            x = Layers[i].Forward(x, trace?.Layers[i]);
        }

        return x;
    }

    /// <summary>Adds to <paramref name="gradients"/> (shaped like <see cref="Weights"/>) every layer's gradient for the
    /// output gradient <paramref name="dy"/> of the traced forward pass, from the top layer down.</summary>
    public void Backward(Trace trace, float[] dy, float[][] gradients)
    {
        var per = TransformerLayer.Shapes.Count;
        for (var i = Layers.Count - 1; i >= 0; i--)
        {
            dy = Layers[i].Backward(trace.Layers[i], dy, gradients[(i * per)..((i + 1) * per)], inputGradient: i > 0)!;
        }
    }
}
