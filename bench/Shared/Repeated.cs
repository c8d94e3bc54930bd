using System.Globalization;

namespace FeedbackHub.Bench;

/// <summary>
/// A scenario measured more than once in the same run, and the run that stands for it: the one with the median rate
/// (the upper middle of an even count). One short run is at the mercy of a moment of a shared machine: back to back,
/// the raw SMTP loop has differed twofold and the webhook pipeline 2,050-4,320 events/s (compiled into each bench
/// program).
/// </summary>
internal static class Repeated
{
    /// <summary>The run with the median <paramref name="rate"/>.</summary>
    public static T Median<T>(IReadOnlyList<T> runs, Func<T, double> rate) => runs.OrderBy(rate).ElementAt(runs.Count / 2);

    /// <summary>Every run's rate in the order they ran, for the report: "953, 955, 1122".</summary>
    public static string Rates(IEnumerable<double> rates) =>
        string.Join(", ", rates.Select(r => r.ToString("F0", CultureInfo.InvariantCulture)));
}
