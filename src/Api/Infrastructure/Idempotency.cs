using System.Security.Cryptography;
using System.Text;
using FeedbackHub.Domain.Persistence;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Api.Infrastructure;

/// <summary>Marks a creating POST that honours <c>Idempotency-Key</c>.</summary>
public sealed class IdempotentMetadata;

/// <summary>
/// <c>Idempotency-Key</c> on creating POSTs (DESIGN.md, API conventions): the first 2xx answer is stored for 24 h;
/// the same key and body replays it (<c>Idempotency-Replayed: true</c>), the same key with another body answers 422,
/// and a repeat while the first is still running answers 409. Non-2xx answers are not stored, so a corrected
/// request can reuse the key.
/// </summary>
internal sealed class IdempotencyMiddleware(RequestDelegate next)
{
    public const string Header = "Idempotency-Key";
    public const string ReplayedHeader = "Idempotency-Replayed";
    private static readonly TimeSpan Retention = TimeSpan.FromHours(24);
    private static readonly TimeSpan Abandoned = TimeSpan.FromMinutes(1);

    public async Task InvokeAsync(HttpContext context, FeedbackHubDbContext db, TimeProvider time, IProblemDetailsService problems)
    {
        string? key = context.Request.Headers[Header];
        if (key is null || !HttpMethods.IsPost(context.Request.Method)
            || context.GetEndpoint()?.Metadata.GetMetadata<IdempotentMetadata>() is null
            || context.User.Identity?.IsAuthenticated != true)
        {
            await next(context);
            return;
        }

        if (key.Length is 0 or > 200 || key.Any(c => c is < '!' or > '~'))
        {
            await Problem(context, problems, 400, "invalid-idempotency-key", "The Idempotency-Key header is not valid.", "Use 1 to 200 visible ASCII characters, e.g. a UUID.");
            return;
        }

        var tenantId = context.RequestServices.GetRequiredService<CurrentActor>().TenantId;
        var hash = await HashRequestAsync(context.Request);
        var now = time.GetUtcNow();

        await db.Database.ExecuteSqlAsync(
            $"DELETE FROM idempotency_records WHERE tenant_id = {tenantId} AND key = {key} AND (created_at < {now - Retention} OR (status_code IS NULL AND created_at < {now - Abandoned}))");
        var claimed = await db.Database.ExecuteSqlAsync(
            $"INSERT INTO idempotency_records (tenant_id, key, request_hash, created_at) VALUES ({tenantId}, {key}, {hash}, {now}) ON CONFLICT DO NOTHING");
        if (claimed == 0)
        {
            var existing = await db.IdempotencyRecords.AsNoTracking().SingleOrDefaultAsync(r => r.TenantId == tenantId && r.Key == key);
            if (existing is null)
                await Problem(context, problems, 409, "idempotency-in-progress", "A request with this Idempotency-Key was just finished or abandoned.", "Retry the request.");
            else if (!existing.RequestHash.AsSpan().SequenceEqual(hash))
                await Problem(context, problems, 422, "idempotency-key-reused", "This Idempotency-Key was used for a different request.", "Use a new key for a new request.");
            else if (existing.StatusCode is null)
                await Problem(context, problems, 409, "idempotency-in-progress", "A request with this Idempotency-Key is still being processed.", "Retry in a moment to get its answer.");
            else
                await Replay(context, existing.StatusCode.Value, existing.ResponseBody ?? string.Empty, existing.Location);
            return;
        }

        var original = context.Response.Body;
        await using var buffer = new MemoryStream();
        context.Response.Body = buffer;
        try
        {
            await next(context);
        }
        finally
        {
            context.Response.Body = original;
        }

        var status = context.Response.StatusCode;
        if (status is >= 200 and < 300)
        {
            var body = Encoding.UTF8.GetString(buffer.ToArray());
            string? location = context.Response.Headers.Location;
            await db.Database.ExecuteSqlAsync(
                $"UPDATE idempotency_records SET status_code = {status}, response_body = {body}, location = {location} WHERE tenant_id = {tenantId} AND key = {key}");
        }
        else
        {
            await db.Database.ExecuteSqlAsync($"DELETE FROM idempotency_records WHERE tenant_id = {tenantId} AND key = {key}");
        }

        buffer.Position = 0;
        await buffer.CopyToAsync(original, context.RequestAborted);
    }

    private static async Task<byte[]> HashRequestAsync(HttpRequest request)
    {
        request.EnableBuffering();
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(Encoding.UTF8.GetBytes($"{request.Method} {request.Path}{request.QueryString}\n"));
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, request.HttpContext.RequestAborted)) > 0)
            sha.AppendData(chunk, 0, read);
        request.Body.Position = 0;
        return sha.GetHashAndReset();
    }

    private static async Task Replay(HttpContext context, int status, string body, string? location)
    {
        context.Response.StatusCode = status;
        context.Response.Headers[ReplayedHeader] = "true";
        if (location is not null)
            context.Response.Headers.Location = location;
        if (body.Length > 0)
        {
            context.Response.ContentType = "application/json; charset=utf-8";
            await context.Response.WriteAsync(body);
        }
    }

    private static async Task Problem(HttpContext context, IProblemDetailsService problems, int status, string code, string title, string detail)
    {
        context.Response.StatusCode = status;
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails { Status = status, Type = Problems.Type(code), Title = title, Detail = detail },
        });
    }
}
