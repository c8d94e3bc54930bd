using System.Linq.Expressions;
using System.Text;
using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using FeedbackHub.Domain;

namespace FeedbackHub.Api.Infrastructure;

/// <summary>
/// A page of a list: <c>next</c> is the cursor for the following page (also in the <c>Link</c> header, <c>rel="next"</c>),
/// or null on the last page; <c>hasMore</c> says the same as a boolean.
/// </summary>
public sealed record Page<T>(IReadOnlyList<T> Items, string? Next) : IPage
{
    public bool HasMore => Next is not null;

    string? IPage.NextCursor => Next;
}

/// <summary>What the Link header needs of any page.</summary>
public interface IPage
{
    string? NextCursor { get; }
}

/// <summary>Pages answer <c>Link: &lt;same path and query with after=next&gt;; rel="next"</c> (RFC 8288) while there is more.</summary>
public static class PageLinks
{
    public const string Header = "Link";

    public static TBuilder WithPageLinks<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) =>
        {
            var result = await next(context);
            if (result is IValueHttpResult { Value: IPage { NextCursor: { } cursor } })
            {
                var request = context.HttpContext.Request;
                var query = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(request.QueryString.Value);
                query["after"] = cursor;
                var url = Microsoft.AspNetCore.WebUtilities.QueryHelpers.AddQueryString(request.PathBase + request.Path, query);
                context.HttpContext.Response.Headers.Append(Header, $"<{url}>; rel=\"next\"");
            }

            return result;
        });
}

/// <summary>Opaque cursors: base64url of a position string. Clients never parse them.</summary>
public static class Cursor
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 100;

    public static int Limit(int? limit) =>
        limit switch
        {
            null => DefaultLimit,
            >= 1 and <= MaxLimit => limit.Value,
            _ => throw Invalid("limit", $"Must be between 1 and {MaxLimit}."),
        };

    public static string Encode(string position) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(position)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static string? Decode(string? cursor)
    {
        if (string.IsNullOrEmpty(cursor))
            return null;
        try
        {
            var b64 = cursor.Replace('-', '+').Replace('_', '/');
            b64 = b64.PadRight(b64.Length + ((4 - (b64.Length % 4)) % 4), '=');
            return Encoding.UTF8.GetString(Convert.FromBase64String(b64));
        }
        catch (FormatException)
        {
            throw Invalid("after", "Not a cursor returned by this API.");
        }
    }

    public static Guid? DecodeGuid(string? cursor) =>
        Decode(cursor) is { } s ? Guid.TryParse(s, out var g) ? g : throw Invalid("after", "Not a cursor returned by this API.") : null;

    public static long? DecodeLong(string? cursor) =>
        Decode(cursor) is { } s ? long.TryParse(s, out var n) ? n : throw Invalid("after", "Not a cursor returned by this API.") : null;

    /// <summary>The position (for <see cref="ToPage"/>) in a list ordered by (time, id), e.g. (updated_at, id).</summary>
    public static string TimeAndGuidPosition(DateTimeOffset at, Guid id) =>
        at.UtcTicks.ToString(System.Globalization.CultureInfo.InvariantCulture) + ":" + id.ToString();

    public static (DateTimeOffset At, Guid Id)? DecodeTimeAndGuid(string? cursor)
    {
        if (Decode(cursor) is not { } s)
            return null;
        var parts = s.Split(':');
        if (parts.Length == 2
            && long.TryParse(parts[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var ticks)
            && ticks >= DateTimeOffset.MinValue.UtcTicks && ticks <= DateTimeOffset.MaxValue.UtcTicks
            && Guid.TryParse(parts[1], out var id))
            return (new DateTimeOffset(ticks, TimeSpan.Zero), id);
        throw Invalid("after", "Not a cursor returned by this API.");
    }

    /// <summary>Builds the page from up to limit + 1 rows: the extra row only tells that there is more.</summary>
    public static Page<TOut> ToPage<TIn, TOut>(List<TIn> rows, int limit, Func<TIn, TOut> map, Func<TIn, string> position)
    {
        var more = rows.Count > limit;
        if (more)
            rows.RemoveAt(rows.Count - 1);
        return new Page<TOut>(rows.Select(map).ToList(), more ? Encode(position(rows[^1])) : null);
    }

    /// <summary>
    /// One page of a query ordered by a UUIDv7 id (time-ordered): <c>after</c> is the last id of the previous page.
    /// </summary>
    public static async Task<Page<TOut>> PageByIdAsync<T, TOut>(
        this IQueryable<T> query, Expression<Func<T, Guid>> id, int? limit, string? after, Func<T, TOut> map, CancellationToken ct)
    {
        var take = Limit(limit);
        if (DecodeGuid(after) is { } afterId)
        {
            // id(x).CompareTo(afterId) > 0, with afterId as a query parameter (a captured value, not a constant).
            var boxed = new StrongBox<Guid>(afterId);
            var compare = Expression.Call(id.Body, typeof(Guid).GetMethod(nameof(Guid.CompareTo), [typeof(Guid)])!,
                Expression.Field(Expression.Constant(boxed), nameof(StrongBox<Guid>.Value)));
            query = query.Where(Expression.Lambda<Func<T, bool>>(Expression.GreaterThan(compare, Expression.Constant(0)), id.Parameters));
        }

        var rows = await query.OrderBy(id).Take(take + 1).ToListAsync(ct);
        var getId = id.Compile();
        return ToPage(rows, take, map, r => getId(r).ToString());
    }

    private static DomainException Invalid(string field, string message) =>
        new(DomainErrorKind.Invalid, "validation", "The paging parameters are not valid.")
        {
            Errors = new Dictionary<string, string[]> { [field] = [message] },
        };
}
