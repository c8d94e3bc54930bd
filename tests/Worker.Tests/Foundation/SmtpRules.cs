using System.Text.Json;
using FeedbackHub.Tests;

namespace FeedbackHub.Worker.Tests.Foundation;

/// <summary>
/// This test process's fault-injection rules on the shared sink (scripts/smtp_sink.py): a file of its own in the sink's
/// <c>smtp-rules.d/</c>, so another test process using the same sink (another checkout's run) neither replaces nor
/// removes them. Every rule matches an address of its own test, so it applies to no one else's mail. Tests that write
/// the file run one at a time within the process.
/// </summary>
[CollectionDefinition(nameof(SmtpRules), DisableParallelization = true)]
public sealed class SmtpRules
{
    private static readonly string OwnFile = $"worker-tests-{Environment.ProcessId}-{Guid.NewGuid():N}.json";

    static SmtpRules() => AppDomain.CurrentDomain.ProcessExit += (_, _) => Clear();

    private static string PathOf => System.IO.Path.Combine(TestServices.SmtpDirectory, "smtp-rules.d", OwnFile);

    /// <summary>Replaces this process's rules (written whole, then renamed into place: the sink never reads half a file).</summary>
    public static void Set(params object[] rules)
    {
        var json = JsonSerializer.Serialize(new { rules });
        using (var written = JsonDocument.Parse(json))
        {
            foreach (var rule in written.RootElement.GetProperty("rules").EnumerateArray())
                MatchesOwnAddress(rule);
        }

        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(PathOf)!);
        File.WriteAllText(PathOf + ".tmp", json);
        File.Move(PathOf + ".tmp", PathOf, overwrite: true);
    }

    public static void Clear() => File.Delete(PathOf);

    /// <summary>A rule for every client ("*", or the greeting) would hit other processes' mail: those need a private sink (SinkProcess).</summary>
    private static void MatchesOwnAddress(JsonElement rule)
    {
        var match = rule.TryGetProperty("match", out var m) ? m.GetString() : null;
        var stage = rule.TryGetProperty("stage", out var s) ? s.GetString() : "rcpt";
        if (string.IsNullOrEmpty(match) || match == "*" || string.Equals(stage, "connect", StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"A rule on the shared sink must match an address of its own test, not '{match}' at {stage}: use a SinkProcess.", nameof(rule));
    }
}
