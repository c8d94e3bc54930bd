using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Templates;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace FeedbackHub.Domain.Persistence.Configurations;

internal sealed class TemplateConfiguration : IEntityTypeConfiguration<Template>
{
    public void Configure(EntityTypeBuilder<Template> builder)
    {
        builder.HasKey(t => t.Id);
        builder.HasOne<Tenant>().WithMany().HasForeignKey(t => t.TenantId).OnDelete(DeleteBehavior.Cascade);
        builder.Property(t => t.Name).HasMaxLength(200);
        builder.Property(t => t.Locale).HasMaxLength(10);
        builder.HasMany(t => t.Versions).WithOne().HasForeignKey(v => v.TemplateId).OnDelete(DeleteBehavior.Cascade);
        builder.Navigation(t => t.Versions).HasField("_versions").UsePropertyAccessMode(PropertyAccessMode.Field);
        builder.Ignore(t => t.Latest);
        builder.Ignore(t => t.Published);
        builder.HasIndex(t => new { t.TenantId, t.Id });
    }
}

internal sealed class TemplateVersionConfiguration : IEntityTypeConfiguration<TemplateVersion>
{
    public void Configure(EntityTypeBuilder<TemplateVersion> builder)
    {
        builder.HasKey(v => v.Id);
        builder.HasIndex(v => new { v.TemplateId, v.Number }).IsUnique();
        builder.HasIndex(v => v.TenantId);
        builder.Property(v => v.Status).HasConversion<string>().HasMaxLength(20);
        builder.Property(v => v.Content).AsJson();
        builder.Property(v => v.AuthorName).HasMaxLength(100);
        builder.Property(v => v.PublishedByName).HasMaxLength(100);
    }
}
