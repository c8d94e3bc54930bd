using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace FeedbackHub.Worker.Smtp;

/// <summary>Readiness: degraded while some tenant's DKIM key does not open (their emails wait), naming the tenants.</summary>
public sealed class DkimKeysHealthCheck(TenantDkimKeys keys) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (keys.UnreadableTenants() is not { Count: > 0 } tenants)
            return Task.FromResult(HealthCheckResult.Healthy());
        return Task.FromResult(HealthCheckResult.Degraded(
            $"The DKIM keys of {tenants.Count} tenant(s) open with no configured Webhooks:SecretKey; their emails wait: {string.Join(", ", tenants)}.",
            data: new Dictionary<string, object> { ["tenants"] = tenants }));
    }
}
