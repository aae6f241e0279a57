"""blockMeshDict of a graded O-grid around a cylinder (radius R, square outer boundary of half-width
L, centred at the origin): 4 blocks of NT x NR cells, radial expansion G (outer cell / inner cell),
NZ cells in z over [0, DZ]. Usage: python3 cylinder.py NZ > system/blockMeshDict"""
import math
import sys

R, L, DZ = 0.5, 2.0, 0.1
NT, NR, G = 32, 24, 10.0
nz = int(sys.argv[1])
a = R / math.sqrt(2)
inner = [(-a, -a), (a, -a), (a, a), (-a, a)]          # counter-clockwise
outer = [(-L, -L), (L, -L), (L, L), (-L, L)]
mids = [(0, -R), (R, 0), (0, R), (-R, 0)]              # the arcs' midpoints, inner[k] -> inner[k+1]
plane = inner + outer                                  # vertex ids 0-3 inner, 4-7 outer
verts = [(x, y, 0.0) for x, y in plane] + [(x, y, DZ) for x, y in plane]
blocks, edges, front, back, wall, far = [], [], [], [], [], []
for k in range(4):
    j = (k + 1) % 4
    # Right-handed: along the arc backwards (x1), outwards (x2), up (x3).
    base = [j, k, 4 + k, 4 + j]
    blocks.append(f"hex ({' '.join(map(str, base + [v + 8 for v in base]))}) ({NT} {NR} {nz}) simpleGrading (1 {G} 1)")
    for z, off in ((0.0, 0), (DZ, 8)):
        edges.append(f"arc {k + off} {j + off} ({mids[k][0]} {mids[k][1]} {z})")
    back.append(f"({j} {k} {4 + k} {4 + j})")
    front.append(f"({j + 8} {4 + j + 8} {4 + k + 8} {k + 8})")
    wall.append(f"({k} {j} {j + 8} {k + 8})")
    far.append(f"({4 + k} {4 + k + 8} {4 + j + 8} {4 + j})")
nl = "\n    "
print(f"""FoamFile {{ version 2.0; format ascii; class dictionary; object blockMeshDict; }}
scale 1;
vertices
(
    {nl.join(f"({x} {y} {z})" for x, y, z in verts)}
);
blocks
(
    {nl.join(blocks)}
);
edges
(
    {nl.join(edges)}
);
boundary
(
    cylinder {{ type wall; faces ({' '.join(wall)}); }}
    outer {{ type patch; faces ({' '.join(far)}); }}
    frontAndBack {{ type {"empty" if nz == 1 else "patch"}; faces ({' '.join(front + back)}); }}
);
""")
