using FeedbackHub.Domain.People;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using QRCoder;

namespace FeedbackHub.Api.Web.Pages.Security;

/// <summary>
/// Two-step sign-in for the signed-in person: set up an authenticator app (QR code or key), turn it on with a code,
/// see the recovery codes once, renew them, or turn it off with the password. Every change renews the security stamp,
/// so the person's other sessions end; this session is refreshed.
/// </summary>
public sealed class TwoStepModel(UserManager<Person> users, SignInManager<Person> signIn, PersonSecurity security) : AppPageModel
{
    public bool IsOn { get; private set; }

    public int RecoveryCodesLeft { get; private set; }

    public AuthenticatorSetup? Setup { get; private set; }

    /// <summary>The QR code of <see cref="AuthenticatorSetup.Uri"/> as a PNG data URI.</summary>
    public string? QrCode { get; private set; }

    /// <summary>Recovery codes just made: shown on this response only.</summary>
    public IReadOnlyList<string>? NewRecoveryCodes { get; private set; }

    /// <summary>What the post just did, shown on this response (not a redirect: the recovery codes are shown once).</summary>
    public string? Outcome { get; private set; }

    [BindProperty]
    public string? Code { get; set; }

    [BindProperty]
    public string? Password { get; set; }

    public async Task<IActionResult> OnGetAsync() => await ShowAsync(await MeAsync());

    public async Task<IActionResult> OnPostTurnOnAsync()
    {
        var me = await MeAsync();
        var codes = await security.TurnOnTwoStepAsync(me, Code ?? string.Empty);
        if (codes is null)
        {
            ModelState.AddModelError("code", "That code is not right. Type the 6 digits your app shows now for FeedbackHub (they change every 30 seconds).");
            Error = "Two-step sign-in is still off: the code did not match.";
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return await ShowAsync(me);
        }

        await signIn.RefreshSignInAsync(me);
        NewRecoveryCodes = codes;
        Outcome = "Two-step sign-in is on. From now on you sign in with your password and a code from your app.";
        return await ShowAsync(me);
    }

    public async Task<IActionResult> OnPostRenewCodesAsync()
    {
        var me = await MeAsync();
        if (!await TryAsync(async () => NewRecoveryCodes = await security.RenewRecoveryCodesAsync(me)))
            return await ShowAsync(me);
        Outcome = "New recovery codes are ready; the old ones no longer work.";
        return await ShowAsync(me);
    }

    public async Task<IActionResult> OnPostTurnOffAsync()
    {
        var me = await MeAsync();
        if (!await security.TurnOffTwoStepAsync(me, Password ?? string.Empty))
        {
            ModelState.AddModelError("password", "That is not your password.");
            Error = "Two-step sign-in is still on: the password did not match.";
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return await ShowAsync(me);
        }

        await signIn.RefreshSignInAsync(me);
        return Done("/app/settings", "Two-step sign-in is off. You sign in with your password alone; you can remove FeedbackHub from your authenticator app.");
    }

    private async Task<Person> MeAsync() =>
        await users.GetUserAsync(User) ?? throw new InvalidOperationException("A signed-in page without its person.");

    private async Task<PageResult> ShowAsync(Person me)
    {
        Password = null;
        Code = null;
        IsOn = me.TwoFactorEnabled;
        if (IsOn)
        {
            RecoveryCodesLeft = await users.CountRecoveryCodesAsync(me);
            return Page();
        }

        var stamp = me.SecurityStamp;
        Setup = await security.AuthenticatorSetupAsync(me);
        if (me.SecurityStamp != stamp)
            await signIn.RefreshSignInAsync(me); // a new key renews the stamp: keep this session
        using var generator = new QRCodeGenerator();
        using var data = generator.CreateQrCode(Setup.Uri, QRCodeGenerator.ECCLevel.M);
        QrCode = "data:image/png;base64," + Convert.ToBase64String(new PngByteQRCode(data).GetGraphic(5));
        return Page();
    }
}
