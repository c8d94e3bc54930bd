using System.Globalization;

namespace FeedbackHub.Bench;

/// <summary>
/// Warms a process up before its measured batch, so that what is measured is a process that has run for a while, as a
/// deployed worker has: rounds of work, each round's CPU per item kept so the results show the last rounds level
/// (compiled into each bench program).
/// </summary>
/// <remarks>
/// A short warm-up measured a process the runtime was still recompiling. In the delivery bench, with 20 emails the JIT's
/// counters showed 0.3-0.45 s of compilation per second of the batch; with 400 (2026-12-02 to 12-03) the worker's perf
/// map still gained about 8,000 recompiled methods (tiered PGO's instrumented and tier-1 code) during a measured 9 s,
/// <c>perf</c> put 15-35 % of the worker's samples in libclrjit, and the worker's CPU per email was 3.2-3.5 ms; after
/// 10,000 it was 1.8 ms (2026-12-03, N = 3,000). On 2 busy cores the runtime's background recompilation falls behind, so
/// the CPU per item falls in steps over the first several thousand items (delivery, 2026-12-03: 6.9, 5.6, 5.1, 4.1, 2.1,
/// 1.7, 1.9 ms per email by round of 1,000).
/// </remarks>
internal static class WarmUp
{
    /// <summary>Rounds each process runs before its measured batch.</summary>
    public const int Rounds = 8;

    /// <summary>Items per round and process.</summary>
    public const int Round = 1000;

    private static readonly List<(string Scenario, IReadOnlyList<double> CpuMsPerItem)> Done = [];

    /// <summary>
    /// Runs the <see cref="Rounds"/> rounds of <paramref name="perRound"/> items (<see cref="Round"/> per process) and keeps
    /// each round's CPU per item (of the processes <paramref name="cpu"/> reads) for <see cref="WriteSummary"/>.
    /// </summary>
    public static async Task RunAsync(string scenario, int perRound, Func<TimeSpan> cpu, Func<int, Task> round)
    {
        var perItem = new List<double>();
        for (var r = 0; r < Rounds; r++)
        {
            var before = cpu();
            await round(r);
            perItem.Add((cpu() - before).TotalMilliseconds / perRound);
        }

        Done.Add((scenario, perItem));
        Console.Error.WriteLine($"warm-up, {scenario}: {Describe(perItem)}");
    }

    /// <summary>Prints every warm-up of the run with its CPU per item by round (the last rounds should be level).</summary>
    public static void WriteSummary(string item)
    {
        Console.WriteLine($"Warm-up before each measured batch: CPU per {item} (the process's own) in each of its {Rounds} rounds of {Round:N0} {item}s per process:");
        Console.WriteLine();
        foreach (var (scenario, perItem) in Done)
            Console.WriteLine($"- {scenario}: {Describe(perItem)}");
    }

    /// <summary>"6.87, 5.59, ... ms".</summary>
    private static string Describe(IReadOnlyList<double> perItemMs) =>
        string.Join(", ", perItemMs.Select(c => c.ToString(c < 0.1 ? "F3" : "F2", CultureInfo.InvariantCulture))) + " ms";
}
