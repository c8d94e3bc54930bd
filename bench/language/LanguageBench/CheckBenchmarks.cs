using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using FeedbackHub.Domain.Language;

namespace FeedbackHub.Bench.Language;

/// <summary>
/// <see cref="LanguageChecker.Check"/> over realistic feedback text (corpus sentences, risky and safe, shuffled into
/// paragraphs) of 1 KB, 100 KB and 10 MB, with the full US pack, and with the US pack plus 1,000 tenant terms to
/// show that time and allocation do not grow with the number of rules.
/// </summary>
[MemoryDiagnoser]
public class CheckBenchmarks
{
    private LanguageChecker _checker = null!;
    private string _text = string.Empty;

    /// <summary>Text size in KB (1 KB = 1024 characters, all ASCII-ish, so also about that many UTF-8 bytes).</summary>
    [Params(1, 100, 10_240)]
    public int SizeKb { get; set; }

    /// <summary>Rule set: the US pack, or the US pack plus 1,000 tenant terms.</summary>
    [Params("US", "US+1000 terms")]
    public string Rules { get; set; } = "US";

    [GlobalSetup]
    public void Setup()
    {
        var rules = RuleCatalog.Default.ForJurisdiction("US");
        if (Rules != "US")
        {
            var terms = Enumerable.Range(0, 1000)
                .Select(i => new CustomTerm($"tenant.term-{i}", "culture-fit-vague", $"zorblax{i} quintel{i % 37}", Severity.Warn, "r", "s"))
                .ToArray();
            rules = rules.With(new TenantRuleChanges(terms, [], []));
        }

        _checker = LanguageChecker.Create(rules);
        _text = FeedbackText.Build(SizeKb * 1024);
    }

    [Benchmark]
    public int Check() => _checker.Check(_text).Count;
}

/// <summary>Builds feedback-like text from the labeled corpus.</summary>
public static class FeedbackText
{
    public static string Build(int chars)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "corpus.jsonl");
        var sentences = File.ReadLines(path)
            .Select(line => JsonDocument.Parse(line).RootElement.GetProperty("text").GetString()!)
            .ToArray();
        var random = new Random(42);
        var builder = new StringBuilder(chars + 512);
        var inParagraph = 0;
        while (builder.Length < chars)
        {
            builder.Append(sentences[random.Next(sentences.Length)]);
            if (++inParagraph == 5)
            {
                builder.Append("\n\n");
                inParagraph = 0;
            }
            else
            {
                builder.Append(' ');
            }
        }

        return builder.ToString(0, chars);
    }
}
