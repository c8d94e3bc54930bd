using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Domain;
using FeedbackHub.Domain.Auditing;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace FeedbackHub.Api.Web.Pages;

/// <summary>A page's one-line messages: an error tied to the page, or a notice after a redirect.</summary>
public sealed record PageMessages(string? Error, string? Notice);

/// <summary>What every signed-in page shares: the caller, role checks, and domain errors shown as messages on the page.</summary>
public abstract class AppPageModel : PageModel
{
    [TempData]
    public string? Notice { get; set; }

    public string? Error { get; protected set; }

    public PageMessages Messages => new(Error, Notice);

    /// <summary>The rule the last <see cref="TryAsync"/> broke, for pages that word some refusals their own way.</summary>
    protected DomainException? Refusal { get; private set; }

    protected CurrentActor Caller => HttpContext.RequestServices.GetRequiredService<CurrentActor>();

    protected Guid TenantId => Caller.TenantId;

    protected Actor Actor => Caller.Actor;

    public bool Can(params string[] roles) => roles.Any(User.IsInRole);

    /// <summary>Whether the caller passes one of the API's authorization policies (so a page's action checks the same rule as its endpoint).</summary>
    protected async Task<bool> AllowedAsync(string policy) =>
        (await HttpContext.RequestServices.GetRequiredService<IAuthorizationService>().AuthorizeAsync(User, policy)).Succeeded;

    /// <summary>Whether a field has an error to show beside it (and so <c>aria-invalid</c>).</summary>
    public bool HasError(string key) => ModelState.TryGetValue(key, out var entry) && entry.Errors.Count > 0;

    /// <summary>
    /// Runs a use case; a refused one (a rule, a stale version, a missing right) becomes the page's error and field
    /// errors beside their fields; a missing resource is the 404 page.
    /// </summary>
    protected async Task<bool> TryAsync(Func<Task> work)
    {
        try
        {
            await work();
            return true;
        }
        catch (DomainException e) when (e.Kind != DomainErrorKind.NotFound)
        {
            Refusal = e;
            Error = e.Message;
            foreach (var (field, messages) in e.Errors ?? new Dictionary<string, string[]>())
            {
                foreach (var message in messages)
                    ModelState.AddModelError(field, message);
            }

            return false;
        }
        catch (Microsoft.EntityFrameworkCore.DbUpdateConcurrencyException)
        {
            Error = "Someone else changed this at the same time. Reload the page to see their change, then apply yours again.";
            return false;
        }
    }

    /// <summary>Redirects back with a notice (post, redirect, get).</summary>
    protected RedirectResult Done(string url, string notice)
    {
        Notice = notice;
        return Redirect(url);
    }

    protected static NotFoundResult Missing() => new();
}

/// <summary>The error of one field, shown below it with the id its input's aria-describedby names.</summary>
public sealed record FieldError(Microsoft.AspNetCore.Mvc.ModelBinding.ModelStateDictionary State, string Key, string InputId);
