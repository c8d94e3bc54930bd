using FeedbackHub.Domain.People;
using FeedbackHub.Domain.Persistence;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Api.Web.Pages;

/// <summary>A person's own settings: which notifications they get, their password and two-step sign-in.</summary>
public sealed class SettingsModel(FeedbackHubDbContext db, PersonSecurity security, SignInManager<Person> signIn) : AppPageModel
{
    public static readonly IReadOnlyList<(PersonNotification Kind, string Label)> Kinds =
    [
        (PersonNotification.ChangesRequested, "a reviewer asks for changes to feedback I wrote"),
        (PersonNotification.AwaitingApproval, "feedback waits for approval (recruiters and legal)"),
        (PersonNotification.CandidateAsked, "a candidate asks for feedback on an application I work on"),
    ];

    [BindProperty]
    public List<PersonNotification> Wanted { get; set; } = [];

    [BindProperty]
    public string? CurrentPassword { get; set; }

    [BindProperty]
    public string? NewPassword { get; set; }

    public bool TwoStepOn { get; private set; }

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        Show(await MeAsync(ct));
        return Page();
    }

    public async Task<IActionResult> OnPostPasswordAsync(CancellationToken ct)
    {
        var me = await MeAsync(ct);
        var result = await security.ChangePasswordAsync(me, CurrentPassword ?? string.Empty, NewPassword ?? string.Empty);
        if (result.Succeeded)
        {
            await signIn.RefreshSignInAsync(me); // the new stamp ends every other session; this one stays
            return Done("/app/settings", "Your password is changed. Your other sessions are signed out.");
        }

        foreach (var error in result.Errors)
        {
            var field = error.Code == nameof(IdentityErrorDescriber.PasswordMismatch) ? "currentPassword" : "newPassword";
            ModelState.AddModelError(field, error.Code == nameof(IdentityErrorDescriber.PasswordMismatch) ? "That is not your current password." : error.Description);
        }

        Error = "Your password is not changed.";
        Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
        Show(me);
        return Page();
    }

    private void Show(Person me)
    {
        Wanted = Enum.GetValues<PersonNotification>().Where(me.Wants).ToList();
        TwoStepOn = me.TwoFactorEnabled;
        CurrentPassword = null;
        NewPassword = null;
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        var me = await MeAsync(ct);
        me.SetNotifications(Wanted);
        await db.SaveChangesAsync(ct);
        return Done("/app/settings", "Your email settings are saved.");
    }

    private async Task<Person> MeAsync(CancellationToken ct) =>
        await db.People.SingleAsync(p => p.Id == Caller.PersonId && p.TenantId == TenantId, ct);
}
