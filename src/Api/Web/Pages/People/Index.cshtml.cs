using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.People;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;

namespace FeedbackHub.Api.Web.Pages.People;

/// <summary>Admins invite people, send invitations again and remove people (the same use cases as <c>/v1/people</c>).</summary>
[Authorize(Policy = Policies.Admin)]
public sealed class IndexModel(PeopleDirectory people, PersonSecurity security, TimeProvider time) : AppPageModel
{
    public static readonly IReadOnlyList<(string Role, string Description)> RoleDescriptions =
    [
        (FeedbackHub.Domain.Model.Roles.Interviewer, "writes feedback"),
        (FeedbackHub.Domain.Model.Roles.Recruiter, "writes, reviews and approves feedback; sees every application"),
        (FeedbackHub.Domain.Model.Roles.Legal, "reviews and approves feedback; edits templates and language rules"),
        (FeedbackHub.Domain.Model.Roles.Admin, "manages people, keys and settings; erases candidates"),
    ];

    public IReadOnlyList<Person> People { get; private set; } = [];

    public DateTimeOffset Now { get; } = time.GetUtcNow();

    public Guid? Me => Caller.PersonId;

    [BindProperty]
    public string? DisplayName { get; set; }

    [BindProperty]
    public string? Email { get; set; }

    [BindProperty]
    public List<string> Roles { get; set; } = [];

    public async Task OnGetAsync(CancellationToken ct) => People = await people.ListAsync(TenantId, ct);

    public async Task<IActionResult> OnPostInviteAsync(CancellationToken ct)
    {
        if (await TryAsync(() => people.InviteAsync(TenantId, Actor, Email ?? string.Empty, DisplayName ?? string.Empty, Roles, ct)))
            return Done("/app/people", $"Invitation sent to {Email}.");
        Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
        await OnGetAsync(ct);
        return Page();
    }

    public async Task<IActionResult> OnPostResendAsync(Guid person, CancellationToken ct)
    {
        if (await TryAsync(() => people.ResendInvitationAsync(TenantId, Actor, person, ct)))
            return Done("/app/people", "The invitation was sent again.");
        await OnGetAsync(ct);
        return Page();
    }

    public async Task<IActionResult> OnPostRemoveAsync(Guid person, CancellationToken ct)
    {
        if (await TryAsync(() => people.RemoveAsync(TenantId, Actor, person, ct)))
            return Done("/app/people", "The person was removed; their sessions and personal keys no longer work.");
        await OnGetAsync(ct);
        return Page();
    }

    public async Task<IActionResult> OnPostTurnOffTwoStepAsync(Guid person, CancellationToken ct)
    {
        if (await TryAsync(() => security.TurnOffTwoStepForAsync(TenantId, Actor, person, ct)))
            return Done("/app/people", "Two-step sign-in is off for them: they sign in with their password and can set it up again in Settings.");
        await OnGetAsync(ct);
        return Page();
    }

    /// <summary>aria-invalid and aria-describedby for a field with an error.</summary>
    public Microsoft.AspNetCore.Html.IHtmlContent Invalid(string key) =>
        new Microsoft.AspNetCore.Html.HtmlString(HasError(key) ? $"aria-invalid=\"true\" aria-describedby=\"{InputIdOf(key)}-error\"" : string.Empty);

    private static string InputIdOf(string key) => key == "displayName" ? "invite-name" : "invite-" + key;
}
