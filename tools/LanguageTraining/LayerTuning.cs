using System.Numerics.Tensors;
using FeedbackHub.Language.Semantic;

namespace FeedbackHub.Tools.LanguageTraining;

/// <summary>Settings of <see cref="LayerTuning.Tune"/>.</summary>
/// <param name="Epochs">Passes over the labelled sentences.</param>
/// <param name="LayerRate">Adam step size of the layer's weights (linear decay to 0 over the run).</param>
/// <param name="HeadRate">Adam step size of the temporary softmax head.</param>
/// <param name="BatchSize">Sentences per step.</param>
/// <param name="Seed">Seed of the sentence order.</param>
/// <param name="ProbeEpochs">Epochs of the head alone on the frozen layer first (0: none).</param>
/// <param name="ProbeRate">Adam step size of that probe.</param>
public sealed record TuneOptions(int Epochs, double LayerRate, double HeadRate, int BatchSize, int Seed, int ProbeEpochs = 0, double ProbeRate = 0.01);

/// <summary>
/// Fine-tunes MiniLM's top layers (issue 14: the last one since the eighth round; the ninth measured the last two): the
/// top layer's output, mean-pooled and scaled to unit length as the package pools, feeds a softmax over the classes
/// (safe and the 16 categories), and the cross-entropy gradient goes back into the layers and that head together
/// (Adam). The head only steers the tuning; the shipped head is trained afterwards on the tuned embeddings, as on the
/// frozen ones. Two threads, each on a fixed half of every batch, their
/// gradients added in order: the same data and seed give the same weights on the same machine.
/// </summary>
public static class LayerTuning
{
    /// <summary>The sentence vector of the layer's output: the mean over the tokens, unit length.</summary>
    public static float[] Embed(TopLayers layer, float[] states) => Pool(layer.Forward(states)).Vector;

    /// <summary>The element-wise mean of the layers' weights ("model soup"): tunings from the same start that differ only
    /// in the order of the sentences stay close enough to average.</summary>
    public static TopLayers Average(IReadOnlyList<TopLayers> layers)
    {
        if (layers.Count == 1)
        {
            return layers[0];
        }

        var sum = layers[0].Clone();
        foreach (var layer in layers.Skip(1))
        {
            for (var w = 0; w < sum.Weights.Length; w++)
            {
                TensorPrimitives.Add(sum.Weights[w], layer.Weights[w], sum.Weights[w]);
            }
        }

        foreach (var weight in sum.Weights)
        {
            TensorPrimitives.Multiply(weight, 1f / layers.Count, weight);
        }

        return sum;
    }

    public static TopLayers Tune(TopLayers start, IReadOnlyList<float[]> states, IReadOnlyList<int> labels, int classes, TuneOptions options, TextWriter log)
    {
        var layer = start.Clone();
        var d = TransformerLayer.D;
        var head = new float[classes * d];
        var headBias = new float[classes];
        if (options.ProbeEpochs > 0)
        {
            Probe(layer, head, headBias, classes, states, labels, options, log);
        }

        float[][] parameters = [.. layer.Weights, head, headBias];
        var adam = new Adam(parameters);
        const int threads = 2;
        var gradients = Enumerable.Range(0, threads).Select(_ => (float[][])[.. layer.NewGradients(), new float[head.Length], new float[classes]]).ToArray();
        var losses = new double[threads];
        var correct = new int[threads];
        var order = Enumerable.Range(0, states.Count).ToArray();
        var random = new Random(options.Seed);
        var steps = options.Epochs * ((order.Length + options.BatchSize - 1) / options.BatchSize);
        var step = 0;
        var watch = System.Diagnostics.Stopwatch.StartNew();
        for (var epoch = 0; epoch < options.Epochs; epoch++)
        {
            random.Shuffle(order);
            double epochLoss = 0;
            var epochCorrect = 0;
            for (var from = 0; from < order.Length; from += options.BatchSize)
            {
                var batch = order.AsSpan(from, Math.Min(options.BatchSize, order.Length - from)).ToArray();
                Parallel.For(0, threads, worker =>
                {
                    var g = gradients[worker];
                    foreach (var array in g)
                    {
                        Array.Clear(array);
                    }

                    losses[worker] = 0;
                    correct[worker] = 0;
                    var trace = new TopLayers.Trace();
                    for (var k = worker; k < batch.Length; k += threads)
                    {
                        var (loss, right) = Accumulate(layer, head, headBias, states[batch[k]], labels[batch[k]], trace, g);
                        losses[worker] += loss;
                        correct[worker] += right ? 1 : 0;
                    }
                });
                for (var p = 0; p < parameters.Length; p++)
                {
                    for (var worker = 1; worker < threads; worker++)
                    {
                        TensorPrimitives.Add(gradients[0][p], gradients[worker][p], gradients[0][p]);
                    }

                    TensorPrimitives.Multiply(gradients[0][p], 1f / batch.Length, gradients[0][p]);
                }

                step++;
                var decay = 1 - (double)(step - 1) / steps;
                adam.Step(gradients[0], p => (p < layer.Weights.Length ? options.LayerRate : options.HeadRate) * decay, step);
                epochLoss += losses.Sum();
                epochCorrect += correct.Sum();
            }

            log.WriteLine($"tuning epoch {epoch + 1}/{options.Epochs}: loss {epochLoss / order.Length:F4}, training accuracy {(double)epochCorrect / order.Length:F3} ({watch.Elapsed.TotalSeconds:F0} s)");
        }

        return layer;
    }

    /// <summary>
    /// A linear probe before the tuning: the head alone is trained on the frozen layer's vectors, so the tuning starts
    /// from a head that already separates the classes and its first gradients carry the classes, not the head's own
    /// catching-up (linear probing, then fine-tuning).
    /// </summary>
    private static void Probe(TopLayers layer, float[] head, float[] headBias, int classes, IReadOnlyList<float[]> states, IReadOnlyList<int> labels, TuneOptions options, TextWriter log)
    {
        var vectors = new float[states.Count][];
        Parallel.For(0, states.Count, i => vectors[i] = Embed(layer, states[i]));
        var adam = new Adam([head, headBias]);
        var order = Enumerable.Range(0, states.Count).ToArray();
        var random = new Random(options.Seed + 1);
        var step = 0;
        for (var epoch = 0; epoch < options.ProbeEpochs; epoch++)
        {
            random.Shuffle(order);
            double loss = 0;
            for (var start = 0; start < order.Length; start += options.BatchSize)
            {
                var batch = order.AsSpan(start, Math.Min(options.BatchSize, order.Length - start));
                float[][] g = [new float[head.Length], new float[classes]];
                foreach (var i in batch)
                {
                    loss += HeadStep(head, headBias, vectors[i], labels[i], g[0], g[1], batch.Length, null).Loss;
                }

                adam.Step(g, _ => options.ProbeRate, ++step);
            }

            if (epoch == options.ProbeEpochs - 1)
            {
                log.WriteLine($"linear probe, {options.ProbeEpochs} epochs: loss {loss / order.Length:F4}");
            }
        }
    }

    /// <summary>Forward and backward for one sentence; adds its gradients to <paramref name="g"/> (layer weights, then
    /// the head's weights and biases). Returns its loss and whether the head's likeliest class was the label.</summary>
    internal static (double Loss, bool Right) Accumulate(TopLayers layer, float[] head, float[] headBias, float[] states, int label, TopLayers.Trace trace, float[][] g)
    {
        var d = TransformerLayer.D;
        var y = layer.Forward(states, trace);
        var (e, norm) = Pool(y);
        var de = new float[d];
        var (loss, right) = HeadStep(head, headBias, e, label, g[^2], g[^1], 1, de);

        // e = m / |m|, m = mean over the tokens of y: dm = (de - e (e . de)) / |m|, dy_t = dm / T.
        var t = y.Length / d;
        var dm = new float[d];
        TensorPrimitives.MultiplyAdd(e, -TensorPrimitives.Dot(e, de), de, dm);
        TensorPrimitives.Multiply(dm, 1f / (norm * t), dm);
        var dy = new float[y.Length];
        for (var r = 0; r < t; r++)
        {
            dm.CopyTo(dy.AsSpan(r * d, d));
        }

        layer.Backward(trace, dy, g);
        return (loss, right);
    }

    /// <summary>
    /// The temporary softmax head on one sentence vector <paramref name="e"/>: adds its weight and bias gradients, divided
    /// by <paramref name="divisor"/>, and, when <paramref name="de"/> is given, the gradient of the loss for
    /// <paramref name="e"/> itself. Returns the cross-entropy and whether the likeliest class was the label.
    /// </summary>
    private static (double Loss, bool Right) HeadStep(float[] head, float[] headBias, float[] e, int label, float[] headGradient, float[] biasGradient, int divisor, float[]? de)
    {
        var d = TransformerLayer.D;
        var classes = headBias.Length;
        var z = new float[classes];
        for (var c = 0; c < classes; c++)
        {
            z[c] = TensorPrimitives.Dot(head.AsSpan(c * d, d), e) + headBias[c];
        }

        var right = TensorPrimitives.IndexOfMax(z) == label;
        TensorPrimitives.SoftMax(z, z);
        var loss = -Math.Log(Math.Max(z[label], 1e-30));
        z[label] -= 1; // dLoss/dlogits
        for (var c = 0; c < classes; c++)
        {
            var row = headGradient.AsSpan(c * d, d);
            TensorPrimitives.MultiplyAdd(e, z[c] / divisor, row, row);
            biasGradient[c] += z[c] / divisor;
            if (de is not null)
            {
                TensorPrimitives.MultiplyAdd(head.AsSpan(c * d, d), z[c], de, de);
            }
        }

        return (loss, right);
    }

    /// <summary>
    /// Compares the backward pass with central differences of the loss on one random sentence of 7 tokens, for a few
    /// entries of every weight and of the head (<c>LanguageTraining tune-check</c>): the relative differences printed should be
    /// around 1e-3 or below (float arithmetic).
    /// </summary>
    public static double Check(TopLayers start, int classes, TextWriter log)
    {
        var random = new Random(14);
        var layer = start.Clone();
        var d = TransformerLayer.D;
        var states = Enumerable.Range(0, 7 * d).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var head = Enumerable.Range(0, classes * d).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        var headBias = new float[classes];
        const int label = 3;
        float[][] parameters = [.. layer.Weights, head, headBias];
        float[][] g = [.. layer.NewGradients(), new float[head.Length], new float[classes]];
        Accumulate(layer, head, headBias, states, label, new TopLayers.Trace(), g);
        double Loss() => Accumulate(layer, head, headBias, states, label, new TopLayers.Trace(), [.. layer.NewGradients(), new float[head.Length], new float[classes]]).Loss;
        var worst = 0.0;
        for (var p = 0; p < parameters.Length; p++)
        {
            var per = TransformerLayer.Shapes.Count;
            // The graph's names (its MatMul weights have numbers), with the layer's index.
            var name = p < layer.Weights.Length
                ? $"layer {MiniLmTunedLayers.TopLayerIndices(layer.Layers.Count)[p / per]}: {MiniLmTunedLayers.Shapes(layer.Layers.Count)[p].Name}"
                : p == parameters.Length - 2 ? "head" : "head bias";
            if (Math.Abs(TensorPrimitives.MaxMagnitude(g[p])) < 1e-6f) // MaxMagnitude keeps the sign
            {
                // The key bias adds the same q . b to every score of a row, which the softmax ignores: its gradient is 0,
                // and a central difference shows only the float noise of the loss.
                log.WriteLine($"{name}: gradient zero everywhere (the softmax ignores a constant added to a row of scores)");
                continue;
            }

            // The entries with the largest analytic gradients (a random entry's is often at float noise level).
            foreach (var i in Enumerable.Range(0, parameters[p].Length).OrderByDescending(i => Math.Abs(g[p][i])).Take(3))
            {
                var keep = parameters[p][i];
                var h = Math.Max(1e-3f, Math.Abs(keep) * 1e-3f);
                parameters[p][i] = keep + h;
                var up = Loss();
                parameters[p][i] = keep - h;
                var down = Loss();
                parameters[p][i] = keep;
                var numeric = (up - down) / (2 * h);
                var relative = Math.Abs(numeric - g[p][i]) / Math.Max(1e-6, Math.Abs(numeric) + Math.Abs(g[p][i]));
                worst = Math.Max(worst, relative);
                log.WriteLine($"{name}[{i}]: backward {g[p][i]:E3}, central difference {numeric:E3}, relative difference {relative:E1}");
            }
        }

        log.WriteLine($"largest relative difference {worst:E1}");
        return worst;
    }

    private static (float[] Vector, float Norm) Pool(float[] y)
    {
        var d = TransformerLayer.D;
        var t = y.Length / d;
        var m = new float[d];
        for (var r = 0; r < t; r++)
        {
            TensorPrimitives.Add(m, y.AsSpan(r * d, d), m);
        }

        TensorPrimitives.Multiply(m, 1f / t, m);
        var norm = TensorPrimitives.Norm(m);
        TensorPrimitives.Multiply(m, 1 / norm, m);
        return (m, norm);
    }

    /// <summary>Adam (no weight decay: the tuning starts from the pretrained layer and runs for few steps).</summary>
    private sealed class Adam(float[][] parameters)
    {
        private readonly float[][] _m = [.. parameters.Select(p => new float[p.Length])];
        private readonly float[][] _v = [.. parameters.Select(p => new float[p.Length])];

        public void Step(float[][] gradients, Func<int, double> rate, int step)
        {
            const double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;
            var c1 = 1 - Math.Pow(beta1, step);
            var c2 = 1 - Math.Pow(beta2, step);
            for (var p = 0; p < parameters.Length; p++)
            {
                var lr = (float)(rate(p) / c1);
                var (w, g, m, v) = (parameters[p], gradients[p], _m[p], _v[p]);
                for (var i = 0; i < w.Length; i++)
                {
                    m[i] = (float)(beta1 * m[i] + (1 - beta1) * g[i]);
                    v[i] = (float)(beta2 * v[i] + (1 - beta2) * g[i] * g[i]);
                    w[i] -= lr * m[i] / (float)(Math.Sqrt(v[i] / c2) + epsilon);
                }
            }
        }
    }
}
