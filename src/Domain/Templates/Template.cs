using System.Text.RegularExpressions;
using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Model;

namespace FeedbackHub.Domain.Templates;

public enum TemplateVersionStatus
{
    Draft,
    InReview,
    Published,
    Retired,
}

/// <summary>
/// A feedback template with numbered versions. Only the newest version can be edited, and only while it is a
/// Draft or InReview; editing after publication starts a new Draft version. Published versions never change.
/// </summary>
public sealed partial class Template
{
    private readonly List<TemplateVersion> _versions = [];

    private Template()
    {
        Name = string.Empty;
        Locale = string.Empty;
    }

    public Guid Id { get; private set; }

    public Guid TenantId { get; private set; }

    public string Name { get; private set; }

    public string Locale { get; private set; }

    public DateTimeOffset CreatedAt { get; private set; }

    public DateTimeOffset UpdatedAt { get; private set; }

    public IReadOnlyList<TemplateVersion> Versions => _versions;

    public TemplateVersion Latest => _versions.MaxBy(v => v.Number) ?? throw new InvalidOperationException("A template has at least one version.");

    public TemplateVersion? Published => _versions.SingleOrDefault(v => v.Status == TemplateVersionStatus.Published);

    public static Template Create(Guid tenantId, string name, string locale, TemplateContent content, Actor author, DateTimeOffset now)
    {
        Validate(name, locale, content);
        var template = new Template
        {
            Id = Guid.CreateVersion7(now),
            TenantId = tenantId,
            Name = name.Trim(),
            Locale = locale,
            CreatedAt = now,
            UpdatedAt = now,
        };
        template._versions.Add(TemplateVersion.Draft(template, 1, content, author, now));
        return template;
    }

    public TemplateVersion Version(int number) =>
        _versions.SingleOrDefault(v => v.Number == number) ?? throw DomainException.NotFound($"Version {number} of the template");

    /// <summary>
    /// Saves new content as the editable draft: the newest version if it is still Draft or InReview (an InReview
    /// version goes back to Draft), otherwise a new version. The editor becomes the version's author.
    /// </summary>
    public TemplateVersion EditDraft(string name, string locale, TemplateContent content, Actor editor, DateTimeOffset now)
    {
        Validate(name, locale, content);
        Name = name.Trim();
        Locale = locale;
        UpdatedAt = now;
        var latest = Latest;
        if (latest.Status is TemplateVersionStatus.Draft or TemplateVersionStatus.InReview)
        {
            latest.Replace(content, editor, now);
            return latest;
        }

        var next = TemplateVersion.Draft(this, latest.Number + 1, content, editor, now);
        _versions.Add(next);
        return next;
    }

    /// <summary>Publishes an InReview version; the version published before it is retired.</summary>
    public void Publish(int number, Actor approver, DateTimeOffset now)
    {
        var version = Version(number);
        if (version.Status != TemplateVersionStatus.InReview)
            throw DomainException.Conflict("template-not-in-review", $"Only a version in review can be published; version {number} is {version.Status}.");
        if (approver.Id is not null && approver.Id == version.AuthorId)
            throw new DomainException(DomainErrorKind.Forbidden, "own-template", "A template version cannot be published by its author; ask another legal reviewer.");
        Published?.Retire(now);
        version.MarkPublished(approver, now);
        UpdatedAt = now;
    }

    public void Retire(int number, DateTimeOffset now)
    {
        var version = Version(number);
        if (version.Status != TemplateVersionStatus.Published)
            throw DomainException.Conflict("template-not-published", $"Only the published version can be retired; version {number} is {version.Status}.");
        version.Retire(now);
        UpdatedAt = now;
    }

    /// <summary>Reports the header's and the content's problems together, so one answer lists them all.</summary>
    private static void Validate(string name, string locale, TemplateContent content)
    {
        var errors = new Dictionary<string, string[]>();
        try
        {
            content.Validated();
        }
        catch (DomainException e) when (e.Errors is not null)
        {
            foreach (var (path, messages) in e.Errors)
                errors[path] = messages;
        }

        if (string.IsNullOrWhiteSpace(name) || name.Length > 200 || !TextInput.IsValid(name, TextKind.SingleLine))
            errors["name"] = ["Must have 1 to 200 characters on one line, without control or invisible formatting characters."];
        if (locale is null || !LocaleRegex().IsMatch(locale))
            errors["locale"] = ["Must be a language tag such as 'en', 'en-GB' or 'de'."];
        if (errors.Count > 0)
            throw new DomainException(DomainErrorKind.Invalid, "invalid-template", "The template is not valid.") { Errors = errors };
    }

    [GeneratedRegex("^[a-z]{2,3}(-[A-Z]{2})?$")]
    internal static partial Regex LocaleRegex();
}

/// <summary>One numbered version of a template, with its lifecycle.</summary>
public sealed class TemplateVersion
{
    private TemplateVersion()
    {
        Content = null!;
        AuthorName = string.Empty;
    }

    public Guid Id { get; private set; }

    public Guid TemplateId { get; private set; }

    public Guid TenantId { get; private set; }

    public int Number { get; private set; }

    public TemplateVersionStatus Status { get; private set; }

    public TemplateContent Content { get; private set; }

    /// <summary>The API key that last edited this version (it may not publish it).</summary>
    public Guid? AuthorId { get; private set; }

    public string AuthorName { get; private set; }

    public DateTimeOffset UpdatedAt { get; private set; }

    public DateTimeOffset? SubmittedAt { get; private set; }

    public DateTimeOffset? PublishedAt { get; private set; }

    public Guid? PublishedById { get; private set; }

    public string? PublishedByName { get; private set; }

    public DateTimeOffset? RetiredAt { get; private set; }

    internal static TemplateVersion Draft(Template template, int number, TemplateContent content, Actor author, DateTimeOffset now) =>
        new()
        {
            Id = Guid.CreateVersion7(now),
            TemplateId = template.Id,
            TenantId = template.TenantId,
            Number = number,
            Status = TemplateVersionStatus.Draft,
            Content = content,
            AuthorId = author.Id,
            AuthorName = author.Name,
            UpdatedAt = now,
        };

    internal void Replace(TemplateContent content, Actor editor, DateTimeOffset now)
    {
        Content = content;
        AuthorId = editor.Id;
        AuthorName = editor.Name;
        Status = TemplateVersionStatus.Draft;
        SubmittedAt = null;
        UpdatedAt = now;
    }

    /// <summary>Asks legal to review the draft.</summary>
    public void Submit(DateTimeOffset now)
    {
        if (Status != TemplateVersionStatus.Draft)
            throw DomainException.Conflict("template-not-draft", $"Only a draft can be submitted for review; version {Number} is {Status}.");
        Status = TemplateVersionStatus.InReview;
        SubmittedAt = now;
        UpdatedAt = now;
    }

    internal void MarkPublished(Actor approver, DateTimeOffset now)
    {
        Status = TemplateVersionStatus.Published;
        PublishedAt = now;
        PublishedById = approver.Id;
        PublishedByName = approver.Name;
        UpdatedAt = now;
    }

    internal void Retire(DateTimeOffset now)
    {
        Status = TemplateVersionStatus.Retired;
        RetiredAt = now;
        UpdatedAt = now;
    }
}
