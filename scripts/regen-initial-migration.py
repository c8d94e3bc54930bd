#!/usr/bin/env python3
"""Regenerates the one Initial migration and keeps its hand-written SQL (triggers EF cannot express).

Usage: python3 scripts/regen-initial-migration.py   (from the repository root; needs `dotnet tool restore` once)
"""
import glob, os, subprocess, sys

folder = 'src/Domain/Persistence/Migrations'
current = glob.glob(f'{folder}/*_Initial.cs')[0]
source = open(current).read()
start = source.index('            // Hand-written')
down = source.index('            migrationBuilder.Sql("""\n                DROP TRIGGER')
end = source.index('                """);\n', down) + len('                """);\n')
handwritten = source[start:end]

for path in glob.glob(f'{folder}/*.cs'):
    os.remove(path)
env = dict(os.environ, EfDesign='true')
subprocess.run(['dotnet', 'restore', 'src/Api'], env=env, check=True, stdout=subprocess.DEVNULL)
subprocess.run(['dotnet', 'ef', 'migrations', 'add', 'Initial', '--project', 'src/Domain', '--startup-project', 'src/Api',
                '--output-dir', 'Persistence/Migrations'], env=env, check=True)

generated = glob.glob(f'{folder}/*_Initial.cs')[0]
text = open(generated).read()
marker = '''        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
'''
if text.count(marker) != 1:
    sys.exit('Could not find where Up ends in the generated migration.')
# The saved span runs from the end of Up to the start of Down: it holds the marker itself.
text = text.replace(marker, handwritten, 1)
open(generated, 'w').write(text)
print('Initial migration regenerated with its hand-written SQL:', generated)
