using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using FeedbackHub.Domain.Language;

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
        Usage: FeedbackHub.Api lint [--input FILE] [--jurisdiction US|UK|DE]

        Reads JSON Lines {"id": ..., "text": "..."} from FILE (or standard input) and writes one JSON Line per
        input to standard output: {"id": ..., "findings": [{"ruleId", "category", "severity", "start", "length",
        "match", "reason", "suggestion"}]}. Offsets are UTF-16 code units in the original text.

        Options:
          --input, -i FILE         read FILE instead of standard input
          --jurisdiction, -j CODE  rule pack (default US)
          --help, -h               show this help

        Exit codes: 0 no "block" finding, 1 at least one "block" finding, 2 usage or input errors
        (bad lines are reported on stderr with their line number; the other lines are still processed).
        """;

    private const int OutputBatch = 64 * 1024;

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
                default:
                    await stderr.WriteLineAsync($"lint: unknown or incomplete option '{args[i]}'.");
                    await stderr.WriteLineAsync(Usage);
                    return UsageOrInputError;
            }
        }

        LanguageChecker checker;
        try
        {
            checker = LanguageChecker.Create(RuleCatalog.Default.ForJurisdiction(jurisdiction));
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

    private static async Task<int> LintAsync(LanguageChecker checker, TextReader lines, TextWriter stdout, TextWriter stderr)
    {
        var badLines = 0;
        var blocked = false;
        var number = 0;
        var output = new StringBuilder();
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

            var findings = checker.Check(text);
            blocked |= findings.Any(f => f.Severity == Severity.Block);
            output.Append(JsonSerializer.Serialize(new LintResult(id, findings), Json)).Append('\n');
            if (output.Length >= OutputBatch)
            {
                // Console.Out flushes on every write; batching keeps it to one write per ~64 KB.
                await stdout.WriteAsync(output.ToString());
                output.Clear();
            }
        }

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
