using Microsoft.EntityFrameworkCore;
using OpenTelemetry;

namespace FeedbackHub.Worker;

/// <summary>
/// A background job that works in batches: the next batch starts at once while batches come back full, otherwise
/// after a pause. Database and timeout errors are logged and the loop goes on; stopping the host ends it.
/// </summary>
public abstract class BatchLoop(TimeProvider time) : BackgroundService
{
    protected TimeProvider Time { get; } = time;

    protected abstract int BatchSize { get; }

    protected abstract TimeSpan Pause { get; }

    /// <summary>Runs one batch; returns how many items it handled.</summary>
    protected abstract Task<int> RunBatchAsync(CancellationToken ct);

    protected abstract void OnBatchFailed(Exception exception);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            int handled;
            try
            {
                // Polls are not traced (five a second per loop would drown the traces): a job traces the work it finds.
                using (SuppressInstrumentationScope.Begin())
                    handled = await RunBatchAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is Npgsql.NpgsqlException or DbUpdateException or InvalidOperationException or TimeoutException)
            {
                OnBatchFailed(e);
                handled = 0;
            }

            if (handled >= BatchSize)
                continue; // more may be waiting right now
            try
            {
                await Task.Delay(Pause, Time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
