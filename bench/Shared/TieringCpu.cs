using System.Globalization;

namespace FeedbackHub.Bench;

/// <summary>
/// The CPU time that the runtime's tiered-compilation thread (".NET Tiered Compilation Worker", which Linux shows as
/// ".NET Tiered Com") of some processes has used since this was created: the work of recompiling hot methods (tiered
/// PGO's instrumented and tier-1 code) that a freshly started process still does while it is measured. The thread
/// exits when it has nothing to do and a new one starts later, so its counters are sampled every 100 ms from
/// <c>/proc/PID/task/TID/stat</c> and each thread's growth is added up (compiled into each bench program). Zero where
/// <c>/proc</c> is missing.
/// </summary>
internal sealed class TieringCpu : IAsyncDisposable
{
    /// <summary>Linux's USER_HZ: <c>/proc</c> counts CPU time in hundredths of a second.</summary>
    private const double TicksPerSecond = 100;

    private const string ThreadName = ".NET Tiered Com";

    private readonly int[] _processIds;
    private readonly Dictionary<(int Process, int Thread), long> _seen = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sampling;
    private long _ticks; // guarded by _seen

    public TieringCpu(IEnumerable<int> processIds)
    {
        _processIds = [.. processIds];
        Sample(counting: false); // what the threads alive now used before this was created is not counted
        _sampling = SampleAsync();
    }

    /// <summary>The tiered-compilation threads' CPU time since this was created.</summary>
    public TimeSpan Used
    {
        get
        {
            lock (_seen)
            {
                Sample(counting: true);
                return TimeSpan.FromSeconds(_ticks / TicksPerSecond);
            }
        }
    }

    private async Task SampleAsync()
    {
        try
        {
            while (true)
            {
                await Task.Delay(100, _stop.Token);
                Sample(counting: true);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Sample(bool counting)
    {
        lock (_seen)
        {
            foreach (var pid in _processIds)
            {
                var tasks = $"/proc/{pid}/task";
                if (!Directory.Exists(tasks))
                    continue;
                foreach (var task in Directory.EnumerateDirectories(tasks))
                {
                    if (ReadThread(task) is not { } thread || !thread.Name.StartsWith(ThreadName, StringComparison.Ordinal))
                        continue;
                    var key = (pid, int.Parse(Path.GetFileName(task), CultureInfo.InvariantCulture));
                    // A thread first seen while counting started after the last sample: all of its time counts.
                    var before = _seen.TryGetValue(key, out var last) ? last : counting ? 0 : thread.Ticks;
                    _seen[key] = thread.Ticks;
                    _ticks += thread.Ticks - before;
                }
            }
        }
    }

    /// <summary>The thread's name and user + system time from its <c>stat</c> line; null if it exited meanwhile.</summary>
    private static (string Name, long Ticks)? ReadThread(string taskDirectory)
    {
        string stat;
        try
        {
            stat = File.ReadAllText(Path.Combine(taskDirectory, "stat"));
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }

        // "TID (name) state ppid ...": the name may hold spaces and parentheses, so it ends at the last ')'; utime and
        // stime are the 14th and 15th fields, the 12th and 13th after the name.
        var open = stat.IndexOf('(', StringComparison.Ordinal);
        var close = stat.LastIndexOf(')');
        if (open < 0 || close < open)
            return null;
        var fields = stat[(close + 2)..].Split(' ');
        return (stat[(open + 1)..close], long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture));
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _sampling;
        _stop.Dispose();
    }
}
