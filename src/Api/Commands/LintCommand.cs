using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using FeedbackHub.Domain.Language;
using FeedbackHub.Language.Semantic;

namespace FeedbackHub.Api.Commands;

/// <summary>
/// <c>lint</c>: checks JSON Lines of feedback text with the language checker, without a database or web host.
/// Exit codes: 0 no <c>block</c> finding, 1 at least one <c>block</c> finding, 2 usage or input errors
/// (bad lines are reported on stderr with their line number; the good lines are still processed).
/// </summary>
public static class LintCommand
{
    /// <summary>No <c>block</c> finding.</summary>
    public const int Clean = 0;

    /// <summary>At least one <c>block</c> finding.</summary>
    public const int Blocked = 1;

    /// <summary>Usage or input error.</summary>
    public const int UsageOrInputError = 2;

    private const string Usage = """
        Usage: FeedbackHub.Api lint [--input FILE] [--jurisdiction US|UK|DE] [--engine full|rules]

        Reads JSON Lines {"id": ..., "text": "..."} from FILE (or standard input) and writes one JSON Line per
        input to standard output: {"id": ..., "findings": [{"ruleId", "category", "severity", "start", "length",
        "match", "reason", "suggestion"}]}. Offsets are UTF-16 code units in the original text. Model findings (ruleId
        "model.<category>") cover a sentence and also carry "confidence" and the nearest labelled "example".

        Options:
          --input, -i FILE         read FILE instead of standard input
          --jurisdiction, -j CODE  rule pack (default US)
          --engine, -e ENGINE      full: rules and the on-device sentence model (default); rules: the rule catalog only
          --help, -h               show this help

        Exit codes: 0 no "block" finding, 1 at least one "block" finding, 2 usage or input errors
        (bad lines are reported on stderr with their line number; the other lines are still processed).
        """;

    private const int OutputBatch = 64 * 1024;

    /// <summary>Lines the full engine checks together.</summary>
    private const int FullEngineGroup = 256;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Runs the command; returns the process exit code.</summary>
    public static async Task<int> RunAsync(string[] args, TextReader stdin, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdin);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);

        string? input = null;
        var jurisdiction = "US";
        var engine = LanguageEngine.Full;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--help" or "-h":
                    await stdout.WriteLineAsync(Usage);
                    return Clean;
                case "--input" or "-i" when i + 1 < args.Length:
                    input = args[++i];
                    break;
                case "--jurisdiction" or "-j" when i + 1 < args.Length:
                    jurisdiction = args[++i];
                    break;
                case "--engine" or "-e" when i + 1 < args.Length:
                    switch (args[++i])
                    {
                        case "full":
                            engine = LanguageEngine.Full;
                            break;
                        case "rules":
                            engine = LanguageEngine.Rules;
                            break;
                        default:
                            await stderr.WriteLineAsync($"lint: unknown engine '{args[i]}' (full or rules).");
                            return UsageOrInputError;
                    }

                    break;
                default:
                    await stderr.WriteLineAsync($"lint: unknown or incomplete option '{args[i]}'.");
                    await stderr.WriteLineAsync(Usage);
                    return UsageOrInputError;
            }
        }

        ITextChecker checker;
        try
        {
            var rules = LanguageChecker.Create(RuleCatalog.Default.ForJurisdiction(jurisdiction));
            checker = engine == LanguageEngine.Rules ? rules : FullLanguageChecker.Create(rules, SentenceClassifier.Shared, Environment.ProcessorCount);
        }
        catch (ArgumentException e)
        {
            await stderr.WriteLineAsync($"lint: {e.Message}");
            return UsageOrInputError;
        }

        if (input is not null && !File.Exists(input))
        {
            await stderr.WriteLineAsync($"lint: input file '{input}' does not exist.");
            return UsageOrInputError;
        }

        using var reader = input is null ? null : File.OpenText(input);
        return await LintAsync(checker, reader ?? stdin, stdout, stderr);
    }

    private static async Task<int> LintAsync(ITextChecker checker, TextReader lines, TextWriter stdout, TextWriter stderr)
    {
        var badLines = 0;
        var blocked = false;
        var number = 0;
        var output = new StringBuilder();
        var pending = new List<(JsonElement Id, string Text)>();

        // The full engine checks lines in groups, so the model embeds many sentences per call on all cores.
        async Task Flush()
        {
            var results = checker is FullLanguageChecker full
                ? full.CheckMany([.. pending.Select(p => p.Text)])
                : [.. pending.Select(p => checker.Check(p.Text, int.MaxValue, out _))];
            for (var i = 0; i < pending.Count; i++)
            {
                blocked |= results[i].Any(f => f.Severity == Severity.Block);
                output.Append(JsonSerializer.Serialize(new LintResult(pending[i].Id, results[i]), Json)).Append('\n');
            }

            pending.Clear();
            if (output.Length >= OutputBatch)
            {
                // Console.Out flushes on every write; batching keeps it to one write per ~64 KB.
                await stdout.WriteAsync(output.ToString());
                output.Clear();
            }
        }

        while (await lines.ReadLineAsync() is { } line)
        {
            number++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            if (!TryParse(line, out var id, out var text, out var error))
            {
                badLines++;
                await stderr.WriteLineAsync($"lint: line {number}: {error}");
                continue;
            }

            pending.Add((id, text));
            if (pending.Count >= (checker is FullLanguageChecker ? FullEngineGroup : 1))
            {
                await Flush();
            }
        }

        await Flush();
        await stdout.WriteAsync(output.ToString());
        await stdout.FlushAsync();
        return badLines > 0 ? UsageOrInputError : blocked ? Blocked : Clean;
    }

    private static bool TryParse(string line, out JsonElement id, out string text, out string error)
    {
        id = default;
        text = string.Empty;
        try
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                error = "expected a JSON object with \"id\" and \"text\".";
                return false;
            }

            if (!root.TryGetProperty("id", out var idElement) || idElement.ValueKind is not (JsonValueKind.String or JsonValueKind.Number))
            {
                error = "\"id\" is missing or is not a string or number.";
                return false;
            }

            if (!root.TryGetProperty("text", out var textElement) || textElement.ValueKind != JsonValueKind.String)
            {
                error = "\"text\" is missing or is not a string.";
                return false;
            }

            id = idElement.Clone();
            text = textElement.GetString()!;
            error = string.Empty;
            return true;
        }
        catch (JsonException e)
        {
            error = $"invalid JSON ({e.Message})";
            return false;
        }
    }

    private sealed record LintResult(JsonElement Id, IReadOnlyList<Finding> Findings);
}
