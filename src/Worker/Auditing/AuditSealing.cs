using FeedbackHub.Domain.Persistence;
using Microsoft.Extensions.Options;

namespace FeedbackHub.Worker.Auditing;

public sealed class AuditSealingOptions
{
    /// <summary>How often the sealer looks for new audit events; an event is sealed within about this long (plus one batch).</summary>
    public TimeSpan SealInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Events sealed per tenant per transaction.</summary>
    public int SealBatchSize { get; set; } = AuditSealer.DefaultBatchSize;
}

/// <summary>
/// Seals new audit events into their tenants' Merkle trees and signs checkpoints (<see cref="AuditSealer"/>). Every worker
/// process runs it; a tenant another process is sealing is skipped for this pass.
/// </summary>
public sealed class AuditSealing(IServiceScopeFactory scopes, TimeProvider time, IOptions<AuditSealingOptions> options, ILogger<AuditSealing> logger)
    : BatchLoop(time, logger, "audit sealing", "sealing audit events")
{
    private const int TenantsPerPass = 100;
    private readonly AuditSealingOptions _options = options.Value;

    protected override int BatchSize => _options.SealBatchSize;

    protected override TimeSpan Pause => _options.SealInterval;

    /// <summary>One pass over the tenants with unsealed events; returns the most sealed for one tenant (a full batch means "go on at once").</summary>
    protected override async Task<int> RunBatchAsync(CancellationToken ct)
    {
        List<Guid> tenants;
        await using (var scope = scopes.CreateAsyncScope())
            tenants = await scope.ServiceProvider.GetRequiredService<AuditSealer>().TenantsWithUnsealedEventsAsync(TenantsPerPass, ct);

        var most = 0;
        foreach (var tenantId in tenants)
        {
            await using var scope = scopes.CreateAsyncScope();
            most = Math.Max(most, await scope.ServiceProvider.GetRequiredService<AuditSealer>().SealAsync(tenantId, skipLocked: true, _options.SealBatchSize, ct));
        }

        return most;
    }
}
