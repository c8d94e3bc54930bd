using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using FeedbackHub.Bench.Language;

if (args.Contains("--semantic"))
{
    SemanticBench.Run();
    return;
}

if (args.Contains("--encoders-header"))
{
    EncoderBench.Header();
    return;
}

if (Array.IndexOf(args, "--encoder") is var encoderAt && encoderAt >= 0)
{
    EncoderBench.Run(encoderAt + 1 < args.Length ? args[encoderAt + 1] : "");
    return;
}

if (args.Contains("--smoke"))
{
    // Stopwatch sanity run (no BenchmarkDotNet): MB/s per size, for quick checks while developing.
    var compile = System.Diagnostics.Stopwatch.StartNew();
    var checker = FeedbackHub.Domain.Language.LanguageChecker.Create(FeedbackHub.Domain.Language.RuleCatalog.Default.ForJurisdiction("US"));
    Console.WriteLine($"first compile (catalog parse + US pack): {compile.Elapsed.TotalMilliseconds:F0} ms");
    compile.Restart();
    var uk = FeedbackHub.Domain.Language.LanguageChecker.Create(FeedbackHub.Domain.Language.RuleCatalog.Default.ForJurisdiction("UK"));
    Console.WriteLine($"second compile (UK pack, {uk.RuleSet.Rules.Count} rules): {compile.Elapsed.TotalMilliseconds:F0} ms");
    foreach (var kb in new[] { 1, 100, 10_240 })
    {
        var text = FeedbackText.Build(kb * 1024);
        var repeat = Math.Max(3, 20_480 / kb);
        checker.Check(text);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var findings = 0;
        for (var i = 0; i < repeat; i++)
        {
            findings = checker.Check(text).Count;
        }

        watch.Stop();
        Console.WriteLine($"{kb,6} KB: {kb / 1024.0 * repeat / watch.Elapsed.TotalSeconds,7:F1} MB/s, {findings} findings");
    }

    return;
}

// --quick: one launch, 1 warm-up and 5 measured iterations. In-process toolchain: BenchmarkDotNet 0.14 predates
// net10.0 monikers, and the benchmark needs nothing the in-process host cannot give.
var quick = args.Contains("--quick");
var job = (quick ? Job.ShortRun.WithWarmupCount(1).WithIterationCount(5) : Job.Default)
    .WithToolchain(InProcessEmitToolchain.Instance);
var config = DefaultConfig.Instance
    .AddJob(job)
    .AddColumn(new ThroughputColumn(), new AllocatedPerKbColumn())
    .WithOptions(ConfigOptions.DisableOptimizationsValidator);
BenchmarkRunner.Run<CheckBenchmarks>(config, [.. args.Where(a => a != "--quick")]);

/// <summary>Megabytes (2^20 characters) of text checked per second.</summary>
internal sealed class ThroughputColumn : IColumn
{
    public string Id => nameof(ThroughputColumn);

    public string ColumnName => "MB/s";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => "Text checked per second, in MB (2^20 characters)";

    public string GetValue(Summary summary, BenchmarkDotNet.Running.BenchmarkCase benchmarkCase)
    {
        var report = summary[benchmarkCase];
        if (report?.ResultStatistics is not { } stats)
        {
            return "-";
        }

        var kb = (int)benchmarkCase.Parameters["SizeKb"];
        return (kb / 1024.0 / (stats.Mean / 1e9)).ToString("F1", System.Globalization.CultureInfo.InvariantCulture);
    }

    public string GetValue(Summary summary, BenchmarkDotNet.Running.BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);

    public bool IsDefault(Summary summary, BenchmarkDotNet.Running.BenchmarkCase benchmarkCase) => false;

    public bool IsAvailable(Summary summary) => true;
}

/// <summary>Bytes allocated per KB of text.</summary>
internal sealed class AllocatedPerKbColumn : IColumn
{
    public string Id => nameof(AllocatedPerKbColumn);

    public string ColumnName => "Alloc B/KB";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 1;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => "Bytes allocated per KB of text checked";

    public string GetValue(Summary summary, BenchmarkDotNet.Running.BenchmarkCase benchmarkCase)
    {
        var report = summary[benchmarkCase];
        if (report is null)
        {
            return "-";
        }

        var bytes = report.GcStats.GetBytesAllocatedPerOperation(benchmarkCase);
        var kb = (int)benchmarkCase.Parameters["SizeKb"];
        return bytes is { } b ? (b / (double)kb).ToString("F0", System.Globalization.CultureInfo.InvariantCulture) : "-";
    }

    public string GetValue(Summary summary, BenchmarkDotNet.Running.BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);

    public bool IsDefault(Summary summary, BenchmarkDotNet.Running.BenchmarkCase benchmarkCase) => false;

    public bool IsAvailable(Summary summary) => true;
}
