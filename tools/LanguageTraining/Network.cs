using System.Numerics.Tensors;
using FeedbackHub.Domain.Language;
using FeedbackHub.Language.Semantic;

namespace FeedbackHub.Tools.LanguageTraining;

/// <summary>Training settings of the head over the embeddings.</summary>
/// <param name="Hidden">Hidden units (0: multinomial logistic regression).</param>
/// <param name="Epochs">Passes over the data.</param>
/// <param name="LearningRate">Adam step size.</param>
/// <param name="WeightDecay">Decoupled L2 (AdamW).</param>
/// <param name="BatchSize">Mini-batch size.</param>
/// <param name="Seed">Seed for the initial weights and the shuffling.</param>
public sealed record NetworkOptions(int Hidden, int Epochs, double LearningRate, double WeightDecay, int BatchSize, int Seed);

/// <summary>
/// A small dense network (softmax regression, or one ReLU hidden layer), trained with mini-batch AdamW and
/// cross-entropy. Single-threaded and seeded: the same data and options give the same weights on the same machine.
/// </summary>
public sealed class Network
{
    private readonly Dense[] _layers;

    private Network(Dense[] layers) => _layers = layers;

    public static Network Train(float[][] inputs, int[] labels, int classes, NetworkOptions options)
    {
        var random = new Random(options.Seed);
        var features = inputs[0].Length;
        Dense[] layers = options.Hidden > 0
            ? [new Dense(features, options.Hidden, true, random), new Dense(options.Hidden, classes, false, random)]
            : [new Dense(features, classes, false, random)];
        var network = new Network(layers);
        var order = Enumerable.Range(0, inputs.Length).ToArray();
        var step = 0;
        for (var epoch = 0; epoch < options.Epochs; epoch++)
        {
            random.Shuffle(order);
            for (var start = 0; start < order.Length; start += options.BatchSize)
            {
                var end = Math.Min(order.Length, start + options.BatchSize);
                foreach (var layer in layers)
                {
                    layer.ZeroGradients();
                }

                for (var k = start; k < end; k++)
                {
                    network.Backpropagate(inputs[order[k]], labels[order[k]]);
                }

                step++;
                // Cosine decay of the step size over the run.
                var progress = (double)epoch / options.Epochs;
                var rate = options.LearningRate * 0.5 * (1 + Math.Cos(Math.PI * progress));
                foreach (var layer in layers)
                {
                    layer.AdamStep(rate, options.WeightDecay, step, end - start);
                }
            }
        }

        return network;
    }

    public float[] Predict(float[] input)
    {
        var x = input;
        foreach (var layer in _layers)
        {
            x = layer.Forward(x);
        }

        TensorPrimitives.SoftMax(x, x);
        return x;
    }

    public IReadOnlyList<LayerDocument> ToDocuments() => [.. _layers.Select(l => l.ToDocument())];

    private void Backpropagate(float[] input, int label)
    {
        var activations = new float[_layers.Length + 1][];
        activations[0] = input;
        for (var i = 0; i < _layers.Length; i++)
        {
            activations[i + 1] = _layers[i].Forward(activations[i]);
        }

        var delta = activations[^1];
        TensorPrimitives.SoftMax(delta, delta);
        delta[label] -= 1;
        for (var i = _layers.Length - 1; i >= 0; i--)
        {
            delta = _layers[i].Backward(activations[i], activations[i + 1], delta, needInputDelta: i > 0);
        }
    }

    private sealed class Dense
    {
        private readonly int _inputs;
        private readonly int _outputs;
        private readonly bool _relu;
        private readonly float[] _w;
        private readonly float[] _b;
        private readonly float[] _gw;
        private readonly float[] _gb;
        private readonly float[] _mw;
        private readonly float[] _vw;
        private readonly float[] _mb;
        private readonly float[] _vb;
        private readonly bool[] _touched;

        public Dense(int inputs, int outputs, bool relu, Random random)
        {
            _inputs = inputs;
            _outputs = outputs;
            _relu = relu;
            _w = new float[inputs * outputs];
            _b = new float[outputs];
            var limit = Math.Sqrt(6.0 / (inputs + outputs));
            for (var i = 0; i < _w.Length; i++)
            {
                _w[i] = (float)((random.NextDouble() * 2 - 1) * limit);
            }

            _gw = new float[_w.Length];
            _gb = new float[outputs];
            _mw = new float[_w.Length];
            _vw = new float[_w.Length];
            _mb = new float[outputs];
            _vb = new float[outputs];
            _touched = new bool[inputs];
        }

        public float[] Forward(float[] input)
        {
            // Inputs are mostly zeros (the lexical features): only the non-zero ones are multiplied.
            var nonZero = NonZero(input);
            var output = new float[_outputs];
            for (var o = 0; o < _outputs; o++)
            {
                var row = o * _inputs;
                var value = _b[o];
                foreach (var j in nonZero)
                {
                    value += _w[row + j] * input[j];
                }

                output[o] = _relu ? Math.Max(0, value) : value;
            }

            return output;
        }

        private static List<int> NonZero(float[] input)
        {
            var nonZero = new List<int>(512);
            for (var j = 0; j < input.Length; j++)
            {
                if (input[j] != 0)
                {
                    nonZero.Add(j);
                }
            }

            return nonZero;
        }

        /// <summary>Accumulates gradients for one sample; returns the delta for the layer below.</summary>
        public float[] Backward(float[] input, float[] output, float[] delta, bool needInputDelta)
        {
            if (_relu)
            {
                for (var o = 0; o < _outputs; o++)
                {
                    if (output[o] <= 0)
                    {
                        delta[o] = 0;
                    }
                }
            }

            var inputDelta = needInputDelta ? new float[_inputs] : [];
            var nonZero = NonZero(input);
            foreach (var j in nonZero)
            {
                _touched[j] = true;
            }

            for (var o = 0; o < _outputs; o++)
            {
                var d = delta[o];
                if (d == 0)
                {
                    continue;
                }

                _gb[o] += d;
                var row = o * _inputs;
                foreach (var j in nonZero)
                {
                    _gw[row + j] += d * input[j];
                }

                if (needInputDelta)
                {
                    TensorPrimitives.MultiplyAdd(_w.AsSpan(o * _inputs, _inputs), d, inputDelta, inputDelta);
                }
            }

            return inputDelta;
        }

        public void ZeroGradients()
        {
            Array.Clear(_gw);
            Array.Clear(_gb);
            Array.Clear(_touched);
        }

        // Lazy AdamW: only the weights of inputs that were non-zero in the batch move (the lexical features are sparse,
        // so this is about ten times faster than a dense step; untouched weights keep their moments).
        public void AdamStep(double rate, double weightDecay, int step, int batch)
        {
            var bias = (1 - Math.Pow(Beta1, step), 1 - Math.Pow(Beta2, step));
            var columns = new List<int>();
            for (var j = 0; j < _inputs; j++)
            {
                if (_touched[j])
                {
                    columns.Add(j);
                }
            }

            for (var o = 0; o < _outputs; o++)
            {
                var row = o * _inputs;
                foreach (var j in columns)
                {
                    Adam(_w, _gw, _mw, _vw, row + j, rate, weightDecay, bias, batch);
                }
            }

            for (var o = 0; o < _outputs; o++)
            {
                Adam(_b, _gb, _mb, _vb, o, rate, 0, bias, batch);
            }
        }

        public LayerDocument ToDocument() => new(_inputs, _outputs, _relu, Base64(_w), Base64(_b));

        private const double Beta1 = 0.9;
        private const double Beta2 = 0.999;

        private static void Adam(float[] p, float[] g, float[] m, float[] v, int i, double rate, double weightDecay, (double C1, double C2) bias, int batch)
        {
            const double beta1 = Beta1, beta2 = Beta2, epsilon = 1e-8;
            var (c1, c2) = bias;
            var grad = g[i] / batch;
            m[i] = (float)((beta1 * m[i]) + ((1 - beta1) * grad));
            v[i] = (float)((beta2 * v[i]) + ((1 - beta2) * grad * grad));
            p[i] -= (float)((rate * (m[i] / c1) / (Math.Sqrt(v[i] / c2) + epsilon)) + (rate * weightDecay * p[i]));
        }

        private static string Base64(float[] values) => SemanticModel.EncodeWeights(values);
    }
}
