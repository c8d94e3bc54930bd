using System.Globalization;

namespace FeedbackHub.Bench;

/// <summary>
/// Warms a process up before its measured batch, so that what is measured is a process that has run for a while, as a
/// deployed worker has: rounds of work until the runtime has stopped recompiling, each round's CPU per item and the
/// share of it the tiered-compilation thread took kept, so the results show the last rounds level (compiled into each
/// bench program).
/// </summary>
/// <remarks>
/// A short warm-up measured a process the runtime was still recompiling. In the delivery bench, with 20 emails the JIT's
/// counters showed 0.3-0.45 s of compilation per second of the batch; with 400 (2026-12-02 to 12-03) the worker's perf
/// map still gained about 8,000 recompiled methods (tiered PGO's instrumented and tier-1 code) during a measured 9 s,
/// <c>perf</c> put 15-35 % of the worker's samples in libclrjit, and the worker's CPU per email was 3.2-3.5 ms; after
/// 10,000 it was 1.8 ms (2026-12-03, N = 3,000). On 2 busy cores the runtime's background recompilation falls behind, so
/// the CPU per item falls in steps over the first several thousand items (delivery, 2026-12-03: 6.9, 5.6, 5.1, 4.1, 2.1,
/// 1.7, 1.9 ms per email by round of 1,000). With a fixed 8 rounds of 1,000 the tiered-compilation thread still took 14 %
/// of the worker's CPU during the measured batch (<c>perf</c>, 2026-12-05), and 45-85 % of it in the last fixed rounds
/// (<see cref="TieringCpu"/>): the rounds now go on until it takes less than <see cref="QuietTiering"/> of a round's CPU
/// or at most <see cref="QuietTieringTime"/> (at least <see cref="MinRounds"/> rounds, at most <see cref="MaxRounds"/>).
/// </remarks>
internal static class WarmUp
{
    /// <summary>Rounds each process runs at least before its measured batch.</summary>
    public const int MinRounds = 8;

    /// <summary>Rounds each process runs at most, quiet or not.</summary>
    public const int MaxRounds = 24;

    /// <summary>The tiered-compilation thread's share of a round's CPU under which the runtime counts as settled.</summary>
    public const double QuietTiering = 0.03;

    /// <summary>
    /// Tiered compilation this short in a round counts as settled too, whatever its share: <c>/proc</c> counts CPU in
    /// 10 ms ticks, so in a round that costs 100 ms (the webhook bench's) one tick is already 10 %.
    /// </summary>
    public static readonly TimeSpan QuietTieringTime = TimeSpan.FromMilliseconds(10);

    /// <summary>Items per round and process.</summary>
    public const int Round = 1000;

    private static readonly List<(string Scenario, IReadOnlyList<(double CpuMsPerItem, double TieringShare)> Rounds)> Done = [];

    /// <summary>
    /// Runs rounds of <paramref name="perRound"/> items (<see cref="Round"/> per process) until the tiered-compilation
    /// threads of <paramref name="processIds"/> took less than <see cref="QuietTiering"/> of the round's CPU (that of the
    /// processes <paramref name="cpu"/> reads) or at most <see cref="QuietTieringTime"/>, within <see cref="MinRounds"/>
    /// to <see cref="MaxRounds"/>; keeps each
    /// round's figures for <see cref="WriteSummary"/> and returns the number of rounds run.
    /// </summary>
    public static async Task<int> RunAsync(string scenario, int perRound, IEnumerable<int> processIds, Func<TimeSpan> cpu, Func<int, Task> round)
    {
        await using var tiering = new TieringCpu(processIds);
        var rounds = new List<(double, double)>();
        for (var r = 0; r < MaxRounds; r++)
        {
            var (cpuBefore, tieringBefore) = (cpu(), tiering.Used);
            await round(r);
            var (used, compiling) = (cpu() - cpuBefore, tiering.Used - tieringBefore);
            var share = used > TimeSpan.Zero ? compiling / used : 0;
            rounds.Add((used.TotalMilliseconds / perRound, share));
            if (r + 1 >= MinRounds && (share < QuietTiering || compiling <= QuietTieringTime))
                break;
        }

        Done.Add((scenario, rounds));
        Console.Error.WriteLine($"warm-up, {scenario}: {Describe(rounds)}");
        return rounds.Count;
    }

    /// <summary>Prints every warm-up of the run with its CPU per item and tiered-compilation share by round (the last rounds should be level).</summary>
    public static void WriteSummary(string item)
    {
        Console.WriteLine($"Warm-up before each measured batch: CPU per {item} (the process's own) in each round of {Round:N0} {item}s per process, and in brackets the share of it the runtime's tiered compilation took; rounds run until that share is under {QuietTiering:P0} or the compilation under {QuietTieringTime.TotalMilliseconds:F0} ms ({MinRounds} to {MaxRounds} rounds):");
        Console.WriteLine();
        foreach (var (scenario, rounds) in Done)
            Console.WriteLine($"- {scenario}: {Describe(rounds)}");
    }

    /// <summary>"6.87 (31%), 5.59 (22%), ... ms".</summary>
    private static string Describe(IReadOnlyList<(double CpuMsPerItem, double TieringShare)> rounds) =>
        string.Join(", ", rounds.Select(r => string.Create(CultureInfo.InvariantCulture, $"{r.CpuMsPerItem.ToString(r.CpuMsPerItem < 0.1 ? "F3" : "F2", CultureInfo.InvariantCulture)} ({r.TieringShare:P0})"))) + " ms";
}
