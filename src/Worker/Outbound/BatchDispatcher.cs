using System.Threading.Channels;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Domain.Persistence;
using Channel = System.Threading.Channels.Channel;

namespace FeedbackHub.Worker.Outbound;

/// <summary>How much one worker's <see cref="BatchDispatcher{TClaim}"/> holds and sends at once, and how often it polls.</summary>
/// <param name="BatchSize">Items held claimed at most (sending or waiting for a free slot); also the largest claim.</param>
/// <param name="ConcurrentSends">Hand-overs in flight at once.</param>
/// <param name="ConcurrentSendsPerGate">Hand-overs in flight at once to one gate (a webhook subscription); items without a gate have only the first bound.</param>
/// <param name="PollInterval">How long an idle dispatcher sleeps (a wake-up message or a recorded batch wakes it at once).</param>
public sealed record DispatchBounds(int BatchSize, int ConcurrentSends, int ConcurrentSendsPerGate, TimeSpan PollInterval);

/// <summary>What one claimed attempt came to: the other side's answer, an answer without a hand-over, or not sent at all.</summary>
/// <param name="NotSendable">True when the answer was known at the claim (a disabled subscription): nothing was handed over.</param>
/// <param name="FailedBeforeHandOver">True when our own side failed before the hand-over (an unreadable DKIM key): released, retried a little later.</param>
public sealed record DispatchResult<TClaim>(TClaim Claim, AttemptAnswer Answer, bool NotSendable = false, bool FailedBeforeHandOver = false)
    where TClaim : class;

public static class DispatchAnswers
{
    /// <summary>The answer recorded for an attempt claimed but never handed over.</summary>
    public static AttemptAnswer NotSent { get; } = new(AttemptOutcome.NotSent, null, "The worker stopped before it was handed over; nothing was sent.");
}

/// <summary>
/// The one batch engine of the outbound table (docs/decisions/0015 and 0017): a channel family claims due items from
/// <c>outbound</c> many at a time (<c>FOR UPDATE SKIP LOCKED</c>, so any number of worker processes share the queue), the
/// engine holds their leases (<see cref="SendingLeases"/>) from the claim until the answer is recorded, hands them over
/// concurrently within <see cref="DispatchBounds"/> with no transaction open, and records whatever answers have arrived
/// in one transaction (one at a time: see <see cref="RecordLoopAsync"/>), retried through database failures for
/// <see cref="DeliveryOptions.RecordOutcomeFor"/>. A stop lets started hand-overs finish and be recorded and records the
/// claims not yet started as not sent. Subclasses say how to claim, send and record their items.
/// </summary>
public abstract partial class BatchDispatcher<TClaim> : BackgroundService
    where TClaim : class
{
    private const int Recorders = 1;
    private static readonly TimeSpan LongestBackoff = TimeSpan.FromSeconds(2);

    /// <summary>How often a dispatcher whose last claim failed tries again (not every poll: one attempt a second during an outage).</summary>
    private TimeSpan FailingPollInterval => _bounds.PollInterval > TimeSpan.FromSeconds(1) ? _bounds.PollInterval : TimeSpan.FromSeconds(1);

    private readonly SendingLeases _leases;
    private readonly TimeProvider _time;
    private readonly DeliveryOptions _delivery;
    private readonly DispatchBounds _bounds;
    private readonly ILogger _logger;
    private readonly Channel<DispatchResult<TClaim>> _results = Channel.CreateUnbounded<DispatchResult<TClaim>>(new UnboundedChannelOptions { SingleReader = true });
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly Gates _gates;
    private readonly SemaphoreSlim _sends;
    private int _held;

    protected BatchDispatcher(SendingLeases leases, TimeProvider time, DeliveryOptions delivery, DispatchBounds bounds, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(bounds);
        _leases = leases;
        _time = time;
        _delivery = delivery;
        _bounds = bounds with { BatchSize = Math.Max(1, bounds.BatchSize) };
        _logger = logger;
        _gates = new Gates(Math.Max(1, bounds.ConcurrentSendsPerGate));
        _sends = new SemaphoreSlim(Math.Max(1, bounds.ConcurrentSends));
    }

    protected TimeProvider Time => _time;

    /// <summary>Items held claimed at most (<see cref="DispatchBounds.BatchSize"/>, at least 1).</summary>
    protected int BatchSize => _bounds.BatchSize;

    /// <summary>The name in log lines (a channel, or "email" for the email channels together).</summary>
    protected abstract string Name { get; }

    /// <summary>
    /// Claims up to <paramref name="take"/> due items in one committed transaction (each Sending with a lease and an
    /// attempt in progress). An item whose answer is already known (not sendable) comes with it and is not handed over.
    /// </summary>
    protected abstract Task<IReadOnlyList<(TClaim Claim, AttemptAnswer? KnownAnswer)>> ClaimAsync(int take, CancellationToken ct);

    /// <summary>
    /// Hands one claimed item over, with no transaction open. The token is honoured only until the hand-over (an
    /// <see cref="OperationCanceledException"/> then means nothing left); answers and failures are results. A
    /// <see cref="NotHandedOverException"/> is our own failure before the hand-over.
    /// </summary>
    protected abstract Task<AttemptAnswer> SendAsync(TClaim claim, CancellationToken ct);

    /// <summary>Records a batch of results in one transaction (one try: the engine retries database failures), then logs and counts them.</summary>
    protected abstract Task RecordAsync(IReadOnlyList<DispatchResult<TClaim>> batch);

    protected abstract (Guid Id, int Attempt) IdOf(TClaim claim);

    /// <summary>The most items one claim transaction takes (a claim that does per-item work keeps its transaction short).</summary>
    protected virtual int LargestClaim => int.MaxValue;

    /// <summary>
    /// The least room worth a claim transaction while items are still in flight (with nothing in flight any room is).
    /// A claim costs about the same for one item as for many, so when answers trickle in (a slow mail server) the
    /// dispatcher waits for room to gather instead of claiming one item per answer.
    /// </summary>
    protected virtual int SmallestClaim => 1;

    /// <summary>The gate whose bound the item's hand-over respects (a webhook subscription), or null for none.</summary>
    protected virtual Guid? GateOf(TClaim claim) => null;

    /// <summary>Look for due items now instead of after the poll interval.</summary>
    public void WakeUp()
    {
        // Already awake: nothing to do (checked first, so a burst of wake-ups, one per message, throws no exceptions).
        if (_wake.CurrentCount > 0)
            return;
        try
        {
            _wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // Woken by another thread between the check and the release.
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var recorder = RecordLoopAsync();
        var sending = new List<Task>();
        var claims = new FailureStreak(Name, "claiming due items", _logger, _time); // a failing claim: the database is likely unreachable
        while (!stoppingToken.IsCancellationRequested)
        {
            sending.RemoveAll(t => t.IsCompleted);
            var held = Volatile.Read(ref _held);
            var room = Math.Min(_bounds.BatchSize - held, LargestClaim);
            var claimed = 0;
            var worthClaiming = room > 0 && (room >= SmallestClaim || held == 0);
            if (worthClaiming)
            {
                try
                {
                    claimed = await ClaimAndStartAsync(room, sending, stoppingToken);
                    claims.Succeeded();
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception e) when (DatabaseFailures.IsTransient(e) || e is Npgsql.NpgsqlException or InvalidOperationException)
                {
                    claims.Failed(e);
                }
            }

            // A full claim: more may be due right now. Otherwise wait for the poll, a wake-up (a message, a recorded batch) or room.
            if (claimed > 0 && claimed == room)
                continue;
            try
            {
                await _wake.WaitAsync(WaitAfterClaim(claims.Failing, claimed, worthClaiming), stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        // Stopping: hand-overs already started run to their answer (and are recorded); claims not yet started are released as not sent.
        await Task.WhenAll(sending);
        _results.Writer.TryComplete();
        await recorder;
    }

    /// <summary>
    /// How long to wait before the next claim: at least a second while claims fail; a moment after a partial claim or
    /// when the worker has too little room for a claim (answers free room soon, and a recorded batch wakes it); otherwise
    /// the idle poll.
    /// </summary>
    private TimeSpan WaitAfterClaim(bool failing, int claimed, bool worthClaiming)
    {
        if (failing)
            return FailingPollInterval;
        if (claimed > 0 || !worthClaiming)
            return TimeSpan.FromMilliseconds(20);
        return _bounds.PollInterval;
    }

    private async Task<int> ClaimAndStartAsync(int room, List<Task> sending, CancellationToken ct)
    {
        var claimed = await ClaimAsync(room, ct);
        foreach (var (claim, known) in claimed)
        {
            // From now on this process renews the claim's lease, until its answer is recorded.
            var (id, attempt) = IdOf(claim);
            _leases.Hold(id, attempt);
            Interlocked.Increment(ref _held);
            if (known is not null)
                _results.Writer.TryWrite(new DispatchResult<TClaim>(claim, known, NotSendable: true));
            else
                sending.Add(SendOneAsync(claim, ct));
        }

        if (claimed.Count > 0)
            LogClaimed(_logger, Name, claimed.Count);
        return claimed.Count;
    }

    /// <summary>Waits for a slot (the worker's and the gate's), hands over, and queues the answer for the recorder. Never throws.</summary>
    private async Task SendOneAsync(TClaim claim, CancellationToken ct)
    {
        DispatchResult<TClaim> result;
        var gateKey = GateOf(claim);
        var gate = gateKey is { } key ? _gates.Enter(key) : null;
        try
        {
            if (gate is not null)
                await gate.WaitAsync(ct);
            try
            {
                await _sends.WaitAsync(ct);
                try
                {
                    result = new DispatchResult<TClaim>(claim, await SendAsync(claim, ct));
                }
                finally
                {
                    _sends.Release();
                }
            }
            finally
            {
                gate?.Release();
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            result = new DispatchResult<TClaim>(claim, DispatchAnswers.NotSent); // stopped before the hand-over: nothing left
        }
        catch (NotHandedOverException e)
        {
            LogNotHandedOver(_logger, Name, IdOf(claim).Id, e.InnerException?.GetType().Name ?? e.GetType().Name);
            result = new DispatchResult<TClaim>(claim, DispatchAnswers.NotSent, FailedBeforeHandOver: true);
        }
        catch (Exception e)
        {
            // A failure of our own before the hand-over (never expected: senders turn failures into answers).
            LogSendFailed(_logger, Name, IdOf(claim).Id, e.GetType().Name, e);
            result = new DispatchResult<TClaim>(claim, DispatchAnswers.NotSent, FailedBeforeHandOver: true);
        }
        finally
        {
            if (gateKey is { } entered)
                _gates.Leave(entered);
        }

        _results.Writer.TryWrite(result);
    }

    /// <summary>
    /// Records answers as they come in: whatever has arrived meanwhile goes into one transaction, <see cref="Recorders"/>
    /// (one) transaction at a time, so under load the answers that arrive during a commit gather into the next batch
    /// instead of starting many small transactions that compete for the same cores (four at once cost about 15% more
    /// worker CPU per email, bench/delivery/README.md).
    /// </summary>
    private async Task RecordLoopAsync()
    {
        var reader = _results.Reader;
        var running = new List<Task>();
        using var recorders = new SemaphoreSlim(Recorders);
        while (await reader.WaitToReadAsync(CancellationToken.None))
        {
            await recorders.WaitAsync(CancellationToken.None);
            var batch = new List<DispatchResult<TClaim>>();
            while (batch.Count < _bounds.BatchSize && reader.TryRead(out var result))
                batch.Add(result);
            running.RemoveAll(t => t.IsCompleted);
            running.Add(RecordBatchAsync(batch, recorders));
        }

        await Task.WhenAll(running);
    }

    private async Task RecordBatchAsync(List<DispatchResult<TClaim>> batch, SemaphoreSlim recorders)
    {
        try
        {
            if (batch.Count > 0)
                await RecordWithRetriesAsync(batch);
        }
        catch (Exception e)
        {
            // Left to recovery: the leases are released below, run out, and the attempts are taken over (sent again, flagged).
            LogRecordFailed(_logger, Name, batch.Count, e.GetType().Name, e);
        }
        finally
        {
            foreach (var r in batch)
                _leases.Release(IdOf(r.Claim).Id);
            Interlocked.Add(ref _held, -batch.Count);
            recorders.Release();
            WakeUp(); // room for more
        }
    }

    /// <summary>One batch, retried through database failures for up to <see cref="DeliveryOptions.RecordOutcomeFor"/> (the leases stay renewed meanwhile).</summary>
    private async Task RecordWithRetriesAsync(List<DispatchResult<TClaim>> batch)
    {
        var giveUpAt = _time.GetUtcNow() + _delivery.RecordOutcomeFor;
        for (var backoff = TimeSpan.FromMilliseconds(100); ; backoff = backoff * 2 < LongestBackoff ? backoff * 2 : LongestBackoff)
        {
            try
            {
                await RecordAsync(batch);
                return;
            }
            catch (Exception e) when (DatabaseFailures.IsTransient(e) && _time.GetUtcNow() + backoff < giveUpAt)
            {
                LogRecordRetry(_logger, Name, batch.Count, e.GetType().Name, backoff.TotalMilliseconds);
                await Task.Delay(backoff, _time);
            }
        }
    }

    public override void Dispose()
    {
        _wake.Dispose();
        _sends.Dispose();
        base.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>One semaphore per gate with claims in this process, dropped when its last claim leaves.</summary>
    private sealed class Gates(int bound)
    {
        private readonly Dictionary<Guid, (SemaphoreSlim Gate, int Users)> _gates = [];

        public SemaphoreSlim Enter(Guid key)
        {
            lock (_gates)
            {
                var (gate, users) = _gates.TryGetValue(key, out var found) ? found : (new SemaphoreSlim(bound), 0);
                _gates[key] = (gate, users + 1);
                return gate;
            }
        }

        public void Leave(Guid key)
        {
            lock (_gates)
            {
                var (gate, users) = _gates[key];
                if (users > 1)
                {
                    _gates[key] = (gate, users - 1);
                    return;
                }

                _gates.Remove(key);
                gate.Dispose();
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Name}: claimed {Count} due items")]
    private static partial void LogClaimed(ILogger logger, string name, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Name} {ItemId}: failed before the hand-over ({ExceptionType}); released to be sent again")]
    private static partial void LogNotHandedOver(ILogger logger, string name, Guid itemId, string exceptionType);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Name} {ItemId}: sending failed before the hand-over ({ExceptionType}); released to be sent again")]
    private static partial void LogSendFailed(ILogger logger, string name, Guid itemId, string exceptionType, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Name}: recording {Count} attempts failed ({ExceptionType}); trying again in {BackoffMs} ms")]
    private static partial void LogRecordRetry(ILogger logger, string name, int count, string exceptionType, double backoffMs);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Name}: {Count} answers could not be recorded ({ExceptionType}); their attempts are sent again once their leases run out")]
    private static partial void LogRecordFailed(ILogger logger, string name, int count, string exceptionType, Exception exception);
}
