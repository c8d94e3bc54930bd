using System.Text.Json;
using FeedbackHub.Tests;

namespace FeedbackHub.Worker.Tests.Foundation;

/// <summary>The sink's fault-injection rules file is shared: tests that write it run one at a time.</summary>
[CollectionDefinition(nameof(SmtpRules), DisableParallelization = true)]
public sealed class SmtpRules
{
    private static string PathOf => System.IO.Path.Combine(TestServices.SmtpDirectory, "smtp-rules.json");

    public static void Set(params object[] rules) =>
        File.WriteAllText(PathOf, JsonSerializer.Serialize(new { rules }));

    public static void Clear() => File.Delete(PathOf);
}
